/* libFuzzer target for what `linkd node validate` reads: arbitrary bytes
 * as a config file and as a secrets file, then the effective config is
 * printed and read back, which must always succeed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        if (lk_config_load_text(&cfg, "fuzz.toml", (const char *)data, size, &err) == 0 &&
            lk_config_finish(&cfg, &err) == 0) {
                lk_buf out = LK_BUF_INIT;
                lk_config_format(&cfg, false, &out);
                lk_config again;
                lk_config_init(&again);
                if (lk_config_load_text(&again, "effective", out.data, out.len, &err) < 0)
                        abort(); /* what we print must read back */
                lk_config_done(&again);
                lk_buf_done(&out);
        }
        lk_config_done(&cfg);

        lk_secrets secrets;
        lk_secrets_init(&secrets);
        if (lk_secrets_load_text(&secrets, "fuzz-secrets.toml", (const char *)data, size, &err) == 0) {
                lk_buf out = LK_BUF_INIT;
                lk_secrets_format_masked(&secrets, &out);
                /* Every value printed is the mask: a secret never shows. */
                for (const char *line = lk_buf_str(&out); *line; line += strcspn(line, "\n") + 1) {
                        const char *eq = strstr(line, " = ");
                        if (eq && eq < line + strcspn(line, "\n") && strncmp(eq, " = 'xxxxx'\n", 11) != 0)
                                abort();
                        if (!line[strcspn(line, "\n")])
                                break;
                }
                lk_buf_done(&out);
        }
        lk_secrets_done(&secrets);
        return 0;
}
