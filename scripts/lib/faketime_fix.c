/* Preloaded before Debian's libfaketime 0.9.10 by scripts/lib/setup.sh
 * (bgk_faketime), which sets FAKETIME_DONT_FAKE_MONOTONIC=1. That libfaketime
 * still shifts absolute deadlines on the monotonic clock by the fake offset
 * (fixed upstream after 0.9.10: libfaketime issues #426 and #503):
 *
 *   - clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...) gets a negative
 *     time, so Python 3.11's time.sleep() fails with EINVAL;
 *   - pthread_cond_timedwait() on a condition variable of the monotonic clock
 *     returns at once, so programs that wait that way (Chromium) spin.
 *
 * Here waits on the monotonic clock bypass libfaketime; waits on the wall
 * clock still go through it (their deadlines are in faked time). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
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
    if (next == NULL && (next = dlsym(RTLD_NEXT, "clock_nanosleep")) == NULL)
        return ENOSYS;
    return next(clock_id, flags, req, rem);
}

/* glibc (2.25 and later) keeps a condition variable's clock in bit 1 of __wrefs */
#define COND_CLOCK_MONOTONIC_MASK 2u

int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                           const struct timespec *abstime)
{
    if (__atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED) & COND_CLOCK_MONOTONIC_MASK)
        return pthread_cond_clockwait(cond, mutex, CLOCK_MONOTONIC, abstime);
    static int (*next)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    if (next == NULL && (next = dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2")) == NULL)
        return ENOSYS;
    return next(cond, mutex, abstime);
}
