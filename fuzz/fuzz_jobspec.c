/* libFuzzer target for job specs.
 *
 * Parses arbitrary text as a job spec TOML.  A rejection must come with
 * at least one error, each with a message and a line inside the input,
 * and err must hold the first.  What parses is read field by field (the
 * sanitizers see every pointer) and must satisfy the invariants job.h
 * promises: a lower-case UUID, EIP-55 addresses, the vrf defaults. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
        if (!ok)
                abort();
}

static size_t sink;

static void touch(const char *s) {
        if (s)
                sink += strlen(s);
}

static void check_address(const lk_job_address *a) {
        check(lk_job_address_is_eip55(a->hex));
}

static void check_errors(const lk_job_errors *errors, const lk_err *err, size_t size) {
        check(errors->count > 0);
        for (size_t i = 0; i < errors->count; i++) {
                check(errors->items[i].message != NULL);
                check(errors->items[i].line <= size + 1);
        }
        check(err->code == -EINVAL);
        check(strcmp(err->msg, errors->items[0].message) == 0 ||
              strlen(errors->items[0].message) >= LK_ERR_MSG_MAX - 1);
        lk_buf b = LK_BUF_INIT;
        lk_job_errors_format(errors, &b);
        check(b.len > 0);
        lk_buf_done(&b);
}

static void touch_type(const lk_job_spec *s) {
        switch (s->type) {
        case LK_JOB_CRON:
                check(s->u.cron.schedule && s->u.cron.schedule[0]);
                break;
        case LK_JOB_WEBHOOK:
                for (size_t i = 0; i < s->u.webhook.external_initiator_count; i++) {
                        touch(s->u.webhook.external_initiators[i].name);
                        touch(s->u.webhook.external_initiators[i].spec);
                }
                break;
        case LK_JOB_DIRECTREQUEST: {
                const lk_job_directrequest *d = &s->u.directrequest;
                check_address(&d->contract_address);
                for (size_t i = 0; i < d->requester_count; i++)
                        check_address(&d->requesters[i]);
                touch(d->min_contract_payment_link_juels);
                touch(d->evm_chain_id);
                sink += d->min_incoming_confirmations_set + d->min_incoming_confirmations;
                break;
        }
        case LK_JOB_VRF: {
                const lk_job_vrf *v = &s->u.vrf;
                check_address(&v->coordinator_address);
                check(strlen(v->public_key) == 68 && v->min_incoming_confirmations > 0);
                check(v->request_timeout > 0 && v->chunk_size > 0 && v->batch_fulfillment_gas_multiplier > 0);
                check(v->requested_confs_delay >= 0 && v->backoff_max_delay >= v->backoff_initial_delay);
                check(!v->batch_fulfillment_enabled || v->batch_coordinator_address_set);
                if (v->batch_coordinator_address_set)
                        check_address(&v->batch_coordinator_address);
                for (size_t i = 0; i < v->from_address_count; i++)
                        check_address(&v->from_addresses[i]);
                touch(v->evm_chain_id);
                touch(v->gas_lane_price);
                sink += (size_t)(v->poll_period + v->chunk_size);
                break;
        }
        }
}

static void touch_spec(const lk_job_spec *s) {
        check(s->schema_version == 1);
        check(strlen(s->external_job_id) == 36);
        for (size_t i = 0; i < 36; i++)
                check(s->external_job_id[i] == '-' || strchr("0123456789abcdef", s->external_job_id[i]));
        check(s->observation_source && s->observation_source[0]);
        check(s->pipeline_runnable == (s->pipeline != NULL));
        if (s->pipeline)
                check(lk_pipeline_spec_task_count(s->pipeline) > 0);
        touch(s->name);
        touch(lk_job_type_name(s->type));
        sink += (size_t)s->max_task_duration + s->gas_limit_set + s->gas_limit + s->forwarding_allowed;
        touch_type(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        lk_job_spec *spec = NULL;
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_err err = LK_ERR_INIT;
        int r = lk_job_spec_parse((const char *)data, size, NULL, &spec, &errors, &err);
        if (r < 0) {
                check(spec == NULL);
                check_errors(&errors, &err, size);
        } else {
                check(errors.count == 0);
                touch_spec(spec);
        }
        lk_job_errors_done(&errors);
        lk_job_spec_free(spec);
        return 0;
}
