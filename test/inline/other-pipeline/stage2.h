/* Stage 2: + the kernel's object-like and function-like macros the bodies
 * use (BTF has no macros): errno values, dynptr bit layout, loop limit,
 * IS_ERR_OR_NULL, likely/unlikely, the model's FNV-1a constants. */
#include "stage1.h"
#define EFAULT 14
#define EINVAL 22
#define E2BIG 7
#define ERANGE 34
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) ((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
#define IS_ERR_OR_NULL(ptr) (!(ptr) || IS_ERR_VALUE((unsigned long)(ptr)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define BPF_MAX_LOOPS (8 * 1024 * 1024)
#define DYNPTR_TYPE_SHIFT 28
#define DYNPTR_SIZE_MASK 0xFFFFFF
#define DYNPTR_RDONLY_BIT (1U << 31)
#define HTAB_FNV_OFFSET 0x811c9dc5U
#define HTAB_FNV_PRIME 0x01000193U
