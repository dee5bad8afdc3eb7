// Test helper: loads raw BPF instructions into the running kernel as a
// socket filter and prints the verifier log (level 2). Input on stdin: one
// program per line, hex of the instruction bytes. For each program prints
// "=== <errno>" then the log. Used only by the tests in test/verifier/num.
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>

static char logbuf[16 << 20];
static char line[1 << 20];
static unsigned char code[1 << 19];

int main(void) {
  while (fgets(line, sizeof line, stdin)) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    size_t len = n / 2;
    for (size_t i = 0; i < len; i++) {
      unsigned v;
      sscanf(line + 2 * i, "%2x", &v);
      code[i] = (unsigned char)v;
    }
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (unsigned long)code;
    attr.insn_cnt = len / 8;
    attr.license = (unsigned long)"GPL";
    attr.log_buf = (unsigned long)logbuf;
    attr.log_size = sizeof logbuf;
    attr.log_level = 2;
    logbuf[0] = 0;
    int fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) close(fd);
    printf("=== %d\n%s\n=== end\n", err, logbuf);
    fflush(stdout);
  }
  return 0;
}
