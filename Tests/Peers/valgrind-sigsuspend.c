/* Lets valgrind 3.19 run `breakerctl`: libdispatch parks the main thread of an async Swift
 * program in sigsuspend() with a signal mask in read-only memory, and valgrind's sigsuspend
 * writes to the mask it is given. This copy of sigsuspend passes a copy of the mask.
 *
 *   cc -shared -fPIC -o /tmp/sigsuspend.so Tests/Peers/valgrind-sigsuspend.c
 *   LD_PRELOAD=/tmp/sigsuspend.so valgrind --tool=callgrind BINARY bench hot-path ...
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
