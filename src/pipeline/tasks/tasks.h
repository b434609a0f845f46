/* The task implementations, one function per Chainlink task type.  Only
 * registry.c and the files under tasks/ include this. */
#ifndef LINKD_PIPELINE_TASKS_H
#define LINKD_PIPELINE_TASKS_H

#include "../task.h"

#define LK__TASK(name) void lk__task_##name(const lk_task_call *call, lk_task_result *result)

/* math.c */
LK__TASK(multiply);
LK__TASK(divide);
LK__TASK(sum);
LK__TASK(mean);
LK__TASK(median);
LK__TASK(mode);
LK__TASK(any);
LK__TASK(lessthan);
LK__TASK(length);
/* strings.c */
LK__TASK(lowercase);
LK__TASK(uppercase);
LK__TASK(hexencode);
LK__TASK(hexdecode);
LK__TASK(base64encode);
LK__TASK(base64decode);
/* misc.c */
LK__TASK(merge);
LK__TASK(lookup);
LK__TASK(conditional);
LK__TASK(memo);
LK__TASK(fail);
LK__TASK(uuid);
/* jsonparse.c */
LK__TASK(jsonparse);
/* cborparse.c */
LK__TASK(cborparse);
/* ethabi.c */
LK__TASK(ethabiencode);
LK__TASK(ethabiencode2);
LK__TASK(ethabidecode);
LK__TASK(ethabidecodelog);
/* ethtx.c */
LK__TASK(ethtx);
/* evm.c: they wait on the chain's RPC node */
LK__TASK(ethcall);
LK__TASK(estimategaslimit);
LK__TASK(ethgetblock);
/* vrf.c */
LK__TASK(vrf);
LK__TASK(vrfv2);
/* http.c: asynchronous */
void lk__task_http(const lk_task_call *call, lk_task_attempt *attempt);
void lk__task_bridge(const lk_task_call *call, lk_task_attempt *attempt);

#endif
