/* The other pipeline, stage 1: what any C file needs that BTF cannot carry
 * (language-level macros). test/inline/other-pipeline.test.ts includes a
 * stage after the header scripts/btf-header.mjs generates from the model BTF
 * (include/model.h = the generated header + one stage). */
#define NULL ((void *)0)
#define true 1
#define false 0
#define __bpf_kfunc __attribute__((used, noinline))
