#ifndef C_TIMESTAMP_COUNTER_H
#define C_TIMESTAMP_COUNTER_H

#include <stdint.h>

/// Whether tb_timestamp_counter() reads a hardware counter on this architecture.
static inline int tb_timestamp_counter_exists(void) {
#if defined(__x86_64__)
    return 1;
#else
    return 0;
#endif
}

/// The CPU's timestamp counter (RDTSC on x86-64); 0 where there is none.
/// Not serialising: it may be read a few instructions early, which callers allow for.
static inline uint64_t tb_timestamp_counter(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
}

#endif
