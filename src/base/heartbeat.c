#include "linkd/heartbeat.h"

void lk_heartbeat_init(lk_heartbeat *hb, const char *name, lk_usec period) {
        hb->name = name;
        hb->period = period;
        atomic_init(&hb->last, 0);
}

void lk_heartbeat_beat(lk_heartbeat *hb) {
        atomic_store_explicit(&hb->last, lk_now_monotonic(), memory_order_relaxed);
}

bool lk_heartbeat_alive(const lk_heartbeat *hb, lk_usec *ret_age) {
        lk_usec last = atomic_load_explicit(&hb->last, memory_order_relaxed);
        lk_usec age = last ? lk_now_monotonic() - last : 0;
        if (ret_age)
                *ret_age = age;
        return age < 3 * hb->period;
}
