/* Preloaded before Debian's libfaketime 0.9.10 by scripts/lib/setup.sh
 * (bgk_faketime). With FAKETIME_DONT_FAKE_MONOTONIC=1 that libfaketime still
 * shifts the absolute deadline of clock_nanosleep(CLOCK_MONOTONIC,
 * TIMER_ABSTIME, ...) by the fake offset, so the kernel gets a negative time
 * and Python 3.11's time.sleep() fails with EINVAL (libfaketime issue #426,
 * fixed upstream after 0.9.10). Sleeps on clocks libfaketime does not fake go
 * straight to the kernel here; the wall clock still goes through libfaketime. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *req,
                    struct timespec *rem)
{
    if (clock_id != CLOCK_REALTIME && clock_id != CLOCK_REALTIME_COARSE) {
        /* the raw system call returns -1 and sets errno; clock_nanosleep returns the error */
        return syscall(SYS_clock_nanosleep, clock_id, flags, req, rem) == 0 ? 0 : errno;
    }
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
    if (next == NULL) {
        next = dlsym(RTLD_NEXT, "clock_nanosleep");
        if (next == NULL)
            return ENOSYS;
    }
    return next(clock_id, flags, req, rem);
}
