/* Basic types of the kfinline model kernel.
 *
 * No system headers: these files compile both with -target bpf (model.c,
 * giving the model's BTF) and as host bitcode (inlinable_kfuncs.c, later fed
 * to llc -march=bpf). Both are LP64, so the layouts agree.
 */
#ifndef KFINLINE_MODEL_TYPES_H
#define KFINLINE_MODEL_TYPES_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef _Bool bool;
typedef unsigned long size_t;

#define true 1
#define false 0
#define NULL ((void *)0)

/* include/uapi/asm-generic/errno-base.h, errno.h */
#define EFAULT 14
#define EEXIST 17
#define EINVAL 22
#define ENOMEM 12
#define ENOENT 2
#define E2BIG 7
#define ERANGE 34
#define ENOSPC 28

#define INT_MAX ((int)(~0U >> 1))
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) ((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
#define ERR_PTR(err) ((void *)(long)(err))
#define PTR_ERR(ptr) ((long)(ptr))
#define IS_ERR(ptr) IS_ERR_VALUE((unsigned long)(ptr))
#define IS_ERR_OR_NULL(ptr) (!(ptr) || IS_ERR_VALUE((unsigned long)(ptr)))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define offsetof(t, m) __builtin_offsetof(t, m)
#define __aligned(x) __attribute__((aligned(x)))
#define min(a, b) ((a) < (b) ? (a) : (b))

/* lib/string.c: out of line (the BPF backend cannot expand a memmove or a
 * memcmp of variable length), called by the inlinable bodies as internals. */
void *memmove(void *dest, const void *src, size_t count);
int memcmp(const void *cs, const void *ct, size_t count);

/* Kernel BPF constants (include/linux/bpf.h). */
#define BPF_MAX_LOOPS (8 * 1024 * 1024)

/* Marks a kfunc definition (the kernel's __bpf_kfunc + BTF_ID_FLAGS). */
#define __bpf_kfunc __attribute__((used, noinline))

#endif
