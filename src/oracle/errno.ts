// Linux errno names (asm-generic/errno-base.h, errno.h) that bpf() returns.

const NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  7: 'E2BIG',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  24: 'EMFILE',
  28: 'ENOSPC',
  34: 'ERANGE',
  38: 'ENOSYS',
  95: 'EOPNOTSUPP',
  524: 'ENOTSUPP',
};

export const EPERM = 1;
export const ENOENT = 2;
export const EACCES = 13;
export const EINVAL = 22;
export const ENOSPC = 28;

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}
