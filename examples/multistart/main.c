/* The seed's ExampleMultiStart: a, b and c start in order; c fails, so the
 * ones already started are closed in reverse and the errors are combined. */
#include <stdio.h>

#include "../common/example_services.h"
#include "linkd/multi.h"

int main(void) {
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        example_service a, b, c;
        example_healthy(&a, "a");
        example_close_failure(&b, "b");
        example_wont_start(&c, "c");

        lk_multistart ms = LK_MULTISTART_INIT;
        lk_service *services[] = {&a.service, &b.service, &c.service};
        lk_err err = LK_ERR_INIT;
        if (lk_multistart_start(&ms, &ctx, services, 3, &err) < 0)
                printf("%s\n", err.msg);
        lk_multistart_done(&ms);
        lk_ctx_done(&ctx);
        return 0;
}
