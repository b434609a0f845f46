/* linkd keys vrf|eth ...: the node's VRF and Ethereum keys, in its
 * database, encrypted with the node's password (src/keys/keystore).
 * Passwords come from files, never from arguments (they would show in ps
 * and shell history). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "linkd/alloc.h"
#include "linkd/file.h"
#include "linkd/hex.h"
#include "linkd/keystore.h"
#include "linkd/vrf.h"

static const char keys_usage[] =
        "usage: linkd keys vrf|eth create --password FILE [--json]\n"
        "       linkd keys vrf|eth list [--json]\n"
        "       linkd keys vrf|eth export ID --password FILE --new-password FILE [--output FILE]\n"
        "       linkd keys vrf|eth import FILE --password FILE --old-password FILE\n"
        "       linkd keys eth delete ADDRESS --password FILE\n"
        "  each also takes [--config FILE]... [--secrets FILE] to find the node's database\n"
        "\n"
        "--password FILE holds the node's keystore password (every key of a node shares\n"
        "it); --new-password FILE the password to encrypt an export with, --old-password\n"
        "FILE the one an imported file was encrypted with.  VRF exports are Chainlink's\n"
        "format: {\"PublicKey\": \"0x<33-byte key>\", \"vrf_key\": <Ethereum v3 key file>};\n"
        "Ethereum exports are v3 key files as geth writes them, and geth's and ethers'\n"
        "files import.  Exports are written with mode 0600.  A VRF key's ID is its public\n"
        "key's 33-byte form in hex, an Ethereum key's its address.\n";

typedef struct options {
        bool eth; /* keys eth, else keys vrf */
        const char *action, *argument;
        const char *password, *new_password, *old_password, *output;
        bool json;
        char **rest; /* what lk__cmd_load_config reads: argv[0] and --config/--secrets */
        int rest_count;
} options;

static int parse(int argc, char **argv, options *o) {
        o->rest = lk_calloc((size_t)argc + 1, sizeof *o->rest);
        o->rest[o->rest_count++] = argv[0];
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char **value = strcmp(a, "--password") == 0       ? &o->password
                                     : strcmp(a, "--new-password") == 0 ? &o->new_password
                                     : strcmp(a, "--old-password") == 0 ? &o->old_password
                                     : strcmp(a, "--output") == 0       ? &o->output
                                                                        : NULL;
                if (value || strcmp(a, "--config") == 0 || strcmp(a, "--secrets") == 0) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "linkd: %s needs a value\n", a);
                                return LK_EXIT_USAGE;
                        }
                        if (value) {
                                *value = argv[++i];
                                continue;
                        }
                        o->rest[o->rest_count++] = argv[i++];
                        o->rest[o->rest_count++] = argv[i];
                } else if (strcmp(a, "--json") == 0) {
                        o->json = true;
                } else if (a[0] != '-' && !o->action) {
                        o->action = a;
                } else if (a[0] != '-' && !o->argument) {
                        o->argument = a;
                } else {
                        fprintf(stderr, "linkd: unexpected argument \"%s\"\n%s", a, keys_usage);
                        return LK_EXIT_USAGE;
                }
        }
        return LK_EXIT_OK;
}

char *lk__cmd_read_password(const char *flag, const char *path) {
        char *text = NULL;
        size_t len = 0;
        lk_err err = LK_ERR_INIT;
        if (!path) {
                fprintf(stderr, "linkd: %s FILE is required\n", flag);
                return NULL;
        }
        if (lk_file_read(path, 4096, &text, &len, &err) < 0) {
                fprintf(stderr, "linkd: %s: %s\n", flag, err.msg);
                return NULL;
        }
        if (len && text[len - 1] == '\n')
                text[--len] = '\0';
        if (len && text[len - 1] == '\r')
                text[--len] = '\0';
        if (len == 0 || strlen(text) != len) {
                fprintf(stderr, "linkd: %s: %s holds no password\n", flag, path);
                lk_free(text);
                return NULL;
        }
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
                fprintf(stderr, "linkd: warning: password file %s is accessible to group or others; chmod 600 it\n",
                        path);
        return text;
}

static char *free_password(char *p) {
        if (p) {
                explicit_bzero(p, strlen(p));
                lk_free(p);
        }
        return NULL;
}

static void print_key(const lk_vrf_key_info *k, bool json, bool first) {
        uint8_t hash[32];
        char hash_hex[65], created[40];
        lk_vrf_key_hash(&k->public_key, hash);
        lk_hex_encode(hash_hex, hash, sizeof hash);
        lk_time_format_rfc3339(created, k->created_at);
        if (json)
                printf("%s{\"id\":\"%s\",\"keyHash\":\"0x%s\",\"createdAt\":\"%s\"}", first ? "" : ",", k->id, hash_hex,
                       created);
        else
                printf("%-70s 0x%s  %s\n", k->id, hash_hex, created);
}

static void print_eth_key(const lk_eth_key_info *k, bool json, bool first) {
        char created[40];
        lk_time_format_rfc3339(created, k->created_at);
        if (json)
                printf("%s{\"address\":\"%s\",\"createdAt\":\"%s\"}", first ? "" : ",", k->address, created);
        else
                printf("%-42s  %s\n", k->address, created);
}

static int fail(const lk_err *err) {
        fprintf(stderr, "linkd: %s\n", err->msg);
        return err->code == -EACCES || err->code == -EINVAL || err->code == -ENOENT || err->code == -EEXIST
                       ? LK_EXIT_USAGE
                       : LK_EXIT_FAILURE;
}

static int create(lk_store *store, const options *o) {
        char *password = lk__cmd_read_password("--password", o->password);
        if (!password)
                return LK_EXIT_USAGE;
        lk_vrf_key_info info;
        lk_eth_key_info eth;
        lk_err err = LK_ERR_INIT;
        const lk_keystore_options ko = {.password = password};
        int r = o->eth ? lk_keystore_eth_create(store, &ko, &eth, &err) : lk_keystore_vrf_create(store, &ko, &info, &err);
        free_password(password);
        if (r < 0)
                return fail(&err);
        if (o->eth)
                print_eth_key(&eth, o->json, true);
        else
                print_key(&info, o->json, true);
        if (o->json)
                putchar('\n');
        return LK_EXIT_OK;
}

static int list_eth(lk_store *store, const options *o) {
        lk_eth_key_info *keys = NULL;
        size_t count = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_keystore_eth_list(store, &keys, &count, &err) < 0)
                return fail(&err);
        if (o->json)
                putchar('[');
        else
                printf("%-42s  %s\n", "ADDRESS", "CREATED");
        for (size_t i = 0; i < count; i++)
                print_eth_key(&keys[i], o->json, i == 0);
        if (o->json)
                puts("]");
        lk_free(keys);
        return LK_EXIT_OK;
}

static int list(lk_store *store, const options *o) {
        if (o->eth)
                return list_eth(store, o);
        lk_vrf_key_info *keys = NULL;
        size_t count = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_keystore_vrf_list(store, &keys, &count, &err) < 0)
                return fail(&err);
        if (o->json)
                putchar('[');
        else
                printf("%-70s %-66s  %s\n", "ID", "KEY HASH", "CREATED");
        for (size_t i = 0; i < count; i++)
                print_key(&keys[i], o->json, i == 0);
        if (o->json)
                puts("]");
        lk_free(keys);
        return LK_EXIT_OK;
}

static int export(lk_store *store, const options *o) {
        if (!o->argument) {
                fputs(keys_usage, stderr);
                return LK_EXIT_USAGE;
        }
        char *password = lk__cmd_read_password("--password", o->password);
        char *new_password = password ? lk__cmd_read_password("--new-password", o->new_password) : NULL;
        int status = LK_EXIT_USAGE;
        char *json = NULL;
        lk_err err = LK_ERR_INIT;
        if (new_password) {
                const lk_keystore_options ko = {.password = password};
                int r = o->eth ? lk_keystore_eth_export(store, o->argument, &ko, new_password, &json, &err)
                               : lk_keystore_vrf_export(store, o->argument, &ko, new_password, &json, &err);
                if (r < 0)
                        status = fail(&err);
                else if (o->output && lk_file_write_atomic(o->output, json, strlen(json), 0600, &err) < 0)
                        status = fail(&err);
                else {
                        if (o->output)
                                printf("exported %s to %s\n", o->argument, o->output);
                        else
                                puts(json);
                        status = LK_EXIT_OK;
                }
        }
        lk_free(json);
        free_password(password);
        free_password(new_password);
        return status;
}

static int import(lk_store *store, const options *o) {
        if (!o->argument) {
                fputs(keys_usage, stderr);
                return LK_EXIT_USAGE;
        }
        char *text = NULL;
        size_t len = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_file_read(o->argument, 1 << 20, &text, &len, &err) < 0)
                return fail(&err);
        char *password = lk__cmd_read_password("--password", o->password);
        char *old_password = password ? lk__cmd_read_password("--old-password", o->old_password) : NULL;
        int status = LK_EXIT_USAGE;
        if (old_password) {
                lk_vrf_key_info info;
                lk_eth_key_info eth;
                const lk_keystore_options ko = {.password = password};
                int r = o->eth ? lk_keystore_eth_import(store, text, len, old_password, &ko, &eth, &err)
                               : lk_keystore_vrf_import(store, text, len, old_password, &ko, &info, &err);
                if (r < 0) {
                        status = fail(&err);
                } else {
                        if (o->eth)
                                print_eth_key(&eth, o->json, true);
                        else
                                print_key(&info, o->json, true);
                        if (o->json)
                                putchar('\n');
                        status = LK_EXIT_OK;
                }
        }
        lk_free(text);
        free_password(password);
        free_password(old_password);
        return status;
}

static int delete(lk_store *store, const options *o) {
        if (!o->eth || !o->argument) {
                fputs(keys_usage, stderr);
                return LK_EXIT_USAGE;
        }
        char *password = lk__cmd_read_password("--password", o->password);
        if (!password)
                return LK_EXIT_USAGE;
        lk_err err = LK_ERR_INIT;
        int r = lk_keystore_eth_delete(store, o->argument, password, &err);
        free_password(password);
        if (r < 0)
                return fail(&err);
        printf("deleted %s\n", o->argument);
        return LK_EXIT_OK;
}

int lk_cmd_keys(int argc, char **argv) {
        if (argc < 2 || (strcmp(argv[1], "vrf") != 0 && strcmp(argv[1], "eth") != 0)) {
                fputs(keys_usage, stderr);
                return LK_EXIT_USAGE;
        }
        options o = {.eth = strcmp(argv[1], "eth") == 0};
        lk_config cfg;
        lk_secrets secrets;
        lk_config_init(&cfg);
        lk_secrets_init(&secrets);
        int status = parse(argc - 1, argv + 1, &o);
        if (status == LK_EXIT_OK && !o.action) {
                fputs(keys_usage, stderr);
                status = LK_EXIT_USAGE;
        }
        if (status == LK_EXIT_OK)
                status = lk__cmd_load_config(o.rest_count, o.rest, keys_usage, &cfg, &secrets, NULL);
        lk_store *store = NULL;
        if (status == LK_EXIT_OK)
                status = lk__cmd_open_store(&cfg, &secrets, &store);
        lk_err err = LK_ERR_INIT;
        if (status == LK_EXIT_OK && lk_store_migrate(store, NULL, &err) < 0) {
                fprintf(stderr, "linkd: cannot migrate the database: %s\n", err.msg);
                status = LK_EXIT_FAILURE;
        }
        if (status == LK_EXIT_OK) {
                if (strcmp(o.action, "create") == 0)
                        status = create(store, &o);
                else if (strcmp(o.action, "list") == 0)
                        status = list(store, &o);
                else if (strcmp(o.action, "export") == 0)
                        status = export(store, &o);
                else if (strcmp(o.action, "import") == 0)
                        status = import(store, &o);
                else if (strcmp(o.action, "delete") == 0)
                        status = delete(store, &o);
                else {
                        fprintf(stderr, "linkd: unknown keys %s command \"%s\"\n%s", o.eth ? "eth" : "vrf", o.action,
                                keys_usage);
                        status = LK_EXIT_USAGE;
                }
        }
        lk_store_free(store);
        lk_free(o.rest);
        lk_secrets_done(&secrets);
        lk_config_done(&cfg);
        return status;
}
