// Global data: .data, .rodata, .bss as array maps, a .kconfig extern, and
// programs of tracing types (kprobe, tracepoint, raw tracepoint, socket filter,
// cgroup_skb) whose types come from their section names.
#include "kf_helpers.h"

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_KFINLINE_NOT_SET __kconfig __weak;

const volatile __u32 sample_rate = 4;       /* .rodata */
const char greeting[] = "kfinline";         /* .rodata */
__u64 calls = 1;                            /* .data */
__u32 per_cpu_seen[8] = { 1, 2, 3 };        /* .data */
__u64 events;                               /* .bss */
__u64 last_ts;                              /* .bss */

SEC("kprobe/do_nanosleep")
int kprobe_nanosleep(void *ctx)
{
	__sync_fetch_and_add(&calls, 1);
	if (bpf_get_prandom_u32() % sample_rate)
		return 0;
	last_ts = bpf_ktime_get_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	if (cpu < 8)
		per_cpu_seen[cpu]++;
	if (cpu == 1000) {
		/* String literals go to .rodata.str1.1, a map of its own. */
		static const char fmt[] = "cpu %u\n";
		bpf_trace_printk(fmt, sizeof(fmt), cpu);
		bpf_trace_printk("never %d\n", 9, cpu);
	}
	return greeting[0] == 'k';
}

SEC("tracepoint/syscalls/sys_enter_nanosleep")
int tp_nanosleep(void *ctx)
{
	events++;
	if (LINUX_KERNEL_VERSION >= 0x060000 && CONFIG_KFINLINE_NOT_SET == 0)
		calls += 2;
	return 0;
}

SEC("raw_tracepoint/sched_switch")
int raw_tp_switch(void *ctx)
{
	events += 1;
	return 0;
}

SEC("socket")
int socket_filter(struct __sk_buff *skb)
{
	return skb->len > 100 ? skb->len : 0;
}

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct __sk_buff *skb)
{
	return 1;
}

char _license[] SEC("license") = "GPL";
