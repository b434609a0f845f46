/* The runner's Prometheus metrics (internal), named as Chainlink names
 * them where Chainlink has them:
 *   pipeline_task_execution_time{job_id,job_name,task_id,task_type}
 *       gauge, the last attempt's duration in nanoseconds (Chainlink
 *       sets a time.Duration, so nanoseconds)
 *   pipeline_tasks_total{job_id,job_name,task_type,status}  counter
 *   pipeline_runs_total{state}                               counter
 *   pipeline_runs_in_flight                                  gauge */
#ifndef LINKD_PIPELINE_METRICS_H
#define LINKD_PIPELINE_METRICS_H

#include "linkd/buf.h"
#include "linkd/pipeline.h"

typedef struct lk__metrics lk__metrics;

lk__metrics *lk__metrics_new(void);
lk__metrics *lk__metrics_free(lk__metrics *m);
/* status: "completed", "errored" or "pending". */
void lk__metrics_task(lk__metrics *m, const lk_pipeline_spec *spec, int task_id, lk_usec elapsed, const char *status);
void lk__metrics_run(lk__metrics *m, lk_run_state state);
void lk__metrics_runs_in_flight(lk__metrics *m, int64_t n);
void lk__metrics_render(lk__metrics *m, lk_buf *out);

#endif
