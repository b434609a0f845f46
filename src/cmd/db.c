/* linkd db migrate | status | rollback. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "linkd/file.h"
#include "linkd/store.h"

static const char db_usage[] =
        "usage: linkd db migrate [--config FILE]... [--secrets FILE]   apply pending migrations\n"
        "       linkd db status [--config FILE]... [--secrets FILE]    show the schema version\n"
        "       linkd db rollback [--config FILE]... [--secrets FILE]  undo the newest migration\n";

int lk__cmd_open_store(const lk_config *cfg, const lk_secrets *secrets, lk_store **ret_store) {
        lk_err err = LK_ERR_INIT;
        lk_store *store = NULL;
        if (lk_store_new(&(lk_store_options){.url = secrets->database.url, .config = cfg}, &store, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return LK_EXIT_USAGE;
        }
        if (!secrets->database.url && lk_dir_ensure_private(cfg->root_dir, &err) < 0) {
                fprintf(stderr, "linkd: RootDir: %s\n", err.msg);
                lk_store_free(store);
                return LK_EXIT_FAILURE;
        }
        if (lk_store_open(store, &err) < 0) {
                fprintf(stderr, "linkd: cannot open database %s: %s\n", lk_store_display_url(store), err.msg);
                lk_store_free(store);
                return LK_EXIT_FAILURE;
        }
        *ret_store = store;
        return LK_EXIT_OK;
}

static int status(lk_store *store) {
        lk_err err = LK_ERR_INIT;
        int version;
        if (lk_store_version(store, &version, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return LK_EXIT_FAILURE;
        }
        int known = lk_store_migrations_known();
        printf("database %s is at migration %d; this linkd knows %d\n", lk_store_display_url(store), version, known);
        for (int v = 1; v <= known || v <= version; v++) {
                const char *name = lk_store_migration_name(v);
                printf("  %3d  %-8s %s\n", v, v <= version ? "applied" : "pending", name ? name : "(unknown to this linkd)");
        }
        return LK_EXIT_OK;
}

static int run(const char *command, lk_store *store) {
        lk_err err = LK_ERR_INIT;
        if (strcmp(command, "status") == 0)
                return status(store);
        if (strcmp(command, "migrate") == 0) {
                int applied = 0;
                if (lk_store_migrate(store, &applied, &err) < 0) {
                        fprintf(stderr, "linkd: %s\n", err.msg);
                        return LK_EXIT_FAILURE;
                }
                printf("applied %d migration%s; database %s is at migration %d\n", applied, applied == 1 ? "" : "s",
                       lk_store_display_url(store), lk_store_migrations_known());
                return LK_EXIT_OK;
        }
        int version;
        if (lk_store_rollback(store, &version, &err) < 0) {
                fprintf(stderr, "linkd: %s\n", err.msg);
                return LK_EXIT_FAILURE;
        }
        printf("rolled back to migration %d; database %s\n", version, lk_store_display_url(store));
        return LK_EXIT_OK;
}

int lk_cmd_db(int argc, char **argv) {
        if (argc < 2 || (strcmp(argv[1], "migrate") != 0 && strcmp(argv[1], "status") != 0 &&
                         strcmp(argv[1], "rollback") != 0)) {
                fputs(db_usage, stderr);
                return LK_EXIT_USAGE;
        }
        lk_config cfg;
        lk_secrets secrets;
        lk_config_init(&cfg);
        lk_secrets_init(&secrets);
        int result = lk__cmd_load_config(argc - 1, argv + 1, db_usage, &cfg, &secrets, NULL);
        if (result != LK_EXIT_OK)
                goto out;
        lk_store *store = NULL;
        result = lk__cmd_open_store(&cfg, &secrets, &store);
        if (result == LK_EXIT_OK)
                result = run(argv[1], store);
        lk_store_free(store);
out:
        lk_secrets_done(&secrets);
        lk_config_done(&cfg);
        return result;
}
