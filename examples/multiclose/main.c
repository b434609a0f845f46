/* The seed's ExampleMultiClose: two services that fail to close are closed
 * concurrently and both errors are reported. */
#include <stdio.h>

#include "../common/example_services.h"
#include "linkd/multi.h"

int main(void) {
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        example_service f1, f2;
        example_close_failure(&f1, "f");
        example_close_failure(&f2, "f");
        lk_service *services[] = {&f1.service, &f2.service};

        lk_multistart ms = LK_MULTISTART_INIT;
        lk_err err = LK_ERR_INIT;
        if (lk_multistart_start(&ms, &ctx, services, 2, &err) < 0) {
                printf("%s\n", err.msg);
                goto out;
        }
        /* Output from the concurrent closes must not interleave mid-line. */
        fflush(stdout);
        if (lk_multiclose(services, 2, &err) < 0)
                printf("%s\n", err.msg);
out:
        lk_multistart_done(&ms);
        lk_ctx_done(&ctx);
        return 0;
}
