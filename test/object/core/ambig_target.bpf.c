/* A target BTF with several flavours of one type: "pinner___a" and
 * "pinner___b" (essential name "pinner") agree on the layout, so both stay
 * candidates; "pouter___a" and "pouter___c" disagree on where y is, which
 * libbpf refuses ("field offset ambiguity"). ambig_local.bpf.o is relocated
 * against it. */
#include "core.h"

struct pinner___a { int x; unsigned int y; };
struct pinner___b { int x; unsigned int y; };
struct pouter___a { int x; unsigned int y; };
struct pouter___c { long pad; int x; unsigned int y; };

struct pinner___a ga;
struct pinner___b gb;
struct pouter___a gc;
struct pouter___c gd;

char _license[] SEC("license") = "GPL";
