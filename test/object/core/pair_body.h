/* pair_body.h - one program body, compiled twice: against the local
 * (flavoured, reordered, partial) layout in pair_local.bpf.c and against the
 * "kernel" layout in pair_target.bpf.c. CO-RE-relocating the local object
 * with the target object's BTF must give the target object's instructions. */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define N(x) CAT(x, SFX)

SEC("tp_btf/pair")
int pair_fields(u64 *ctx)
{
	struct N(pstate) *p = (void *)ctx[0];
	long r = p->a + p->b;

	r += p->inner.x * 3;
	r += p->arr[3];
	r ^= p->next->a;
	r += p->in_union;
	r += p->deep.in.y;
	r += core_field_size(p->b) + core_field_signed(p->a) * 2 + core_field_signed(p->b) * 4;
	r += core_field_exists(p->inner.x) << 3;
	r += core_field_size(p->arr) << 4;
	r += core_field_offset(p->arr[5]) << 5;
	r += core_read_bitfield(p, bf1);
	r += core_read_bitfield(p, bf2) << 8;
	r += core_read_bitfield(p, sbf) << 12;
	return r;
}

SEC("tp_btf/pair")
int pair_types(u64 *ctx)
{
	long r = 0;

	r += core_type_size(struct N(pstate));
	r += core_type_exists(struct N(pstate)) << 16;
	r += core_type_matches(struct N(pinner)) << 17;
	r += core_type_size(N(pstate_t)) << 18;
	r += core_enum_value(enum N(pmode), N(PM_TWO)) << 20;
	r += core_enum_exists(enum N(pmode), N(PM_ONE)) << 28;
	r += core_enum_value(enum N(pbig), N(PB_HIGH));
	r += core_type_id_kernel(struct N(pstate)) << 32;
	return r;
}
