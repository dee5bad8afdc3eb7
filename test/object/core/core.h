/* core.h - the CO-RE builtins of libbpf's bpf_core_read.h, written for
 * kfinline's CO-RE fixtures (no libbpf headers needed). Kind numbers are
 * clang's (enum bpf_field_info_kind, bpf_type_id_kind, bpf_type_info_kind,
 * bpf_enum_value_kind), which equal enum bpf_core_relo_kind's order within
 * each group. */
#ifndef KF_CORE_H
#define KF_CORE_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;

#define SEC(name) __attribute__((section(name), used))
#define __pai __attribute__((preserve_access_index))

#define FIELD_BYTE_OFFSET 0
#define FIELD_BYTE_SIZE 1
#define FIELD_EXISTS 2
#define FIELD_SIGNED 3
#define FIELD_LSHIFT_U64 4
#define FIELD_RSHIFT_U64 5

#define core_field(expr, kind) __builtin_preserve_field_info(expr, kind)
#define core_field_exists(expr) __builtin_preserve_field_info(expr, FIELD_EXISTS)
#define core_field_size(expr) __builtin_preserve_field_info(expr, FIELD_BYTE_SIZE)
#define core_field_offset(expr) __builtin_preserve_field_info(expr, FIELD_BYTE_OFFSET)
#define core_field_signed(expr) __builtin_preserve_field_info(expr, FIELD_SIGNED)

#define core_type_id_local(t) __builtin_btf_type_id(*(typeof(t) *)0, 0)
#define core_type_id_kernel(t) __builtin_btf_type_id(*(typeof(t) *)0, 1)
#define core_type_exists(t) __builtin_preserve_type_info(*(typeof(t) *)0, 0)
#define core_type_size(t) __builtin_preserve_type_info(*(typeof(t) *)0, 1)
#define core_type_matches(t) __builtin_preserve_type_info(*(typeof(t) *)0, 2)
#define core_enum_exists(t, v) __builtin_preserve_enum_value(*(typeof(t) *)v, 0)
#define core_enum_value(t, v) __builtin_preserve_enum_value(*(typeof(t) *)v, 1)

/* BPF_CORE_READ_BITFIELD(): a direct load of the bitfield's bytes, then shifts. */
#define core_read_bitfield(s, field) ({                                        \
	const void *__p = (const void *)(s) + core_field((s)->field, FIELD_BYTE_OFFSET); \
	unsigned long long val;                                                    \
	asm volatile("" : "=r"(__p) : "0"(__p));                                       \
	switch (core_field((s)->field, FIELD_BYTE_SIZE)) {                         \
	case 1: val = *(const unsigned char *)__p; break;                            \
	case 2: val = *(const unsigned short *)__p; break;                           \
	case 4: val = *(const unsigned int *)__p; break;                             \
	case 8: val = *(const unsigned long long *)__p; break;                       \
	default: val = 0; break;                                                   \
	}                                                                          \
	val <<= core_field((s)->field, FIELD_LSHIFT_U64);                          \
	if (core_field((s)->field, FIELD_SIGNED))                                  \
		val = ((long long)val) >> core_field((s)->field, FIELD_RSHIFT_U64);    \
	else                                                                       \
		val = val >> core_field((s)->field, FIELD_RSHIFT_U64);                 \
	val;                                                                       \
})

static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)113;

#endif
