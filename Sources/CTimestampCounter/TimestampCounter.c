// The functions are static inline in include/CTimestampCounter.h; this file gives the target a source.
#include "CTimestampCounter.h"
