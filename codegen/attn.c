/*
 * attn.c — the emitter of KV_ATTN, causal attention of new positions over a KV cache (the
 * kvcache pass's decode step, passes/kvcache.c): one call of the runtime's
 * tt_kv_attention_f32 (runtime/attn.c), with a scratch row of scores of its own.
 */
#include "codegen/codegen.h"

bool cg_kv_attn(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 6)) return false;
  const Node *n = cg_node(cg, id), *q = cg_in(cg, id, 0), *v = cg_in(cg, id, 2);
  const Node *kc = cg_in(cg, id, 4);
  int r = q->shape.rank;
  if (r < 2 || n->dtype != DT_F32 || q->shape.symm != 1u << (r - 2))
    return cg_fail(cg, "kv_attention: q is not float32 [*, B, D]");
  int64_t nb = 1;
  for (int i = 0; i < r - 2; i++) nb *= q->shape.d[i];
  int64_t mb = q->shape.d[r - 2], D = q->shape.d[r - 1], Dv = v->shape.d[r - 1];
  int64_t cap = kc->shape.d[r - 1]; /* the K cache is [*, D, cap] */
  int mode = (int)n->attr.i[0];
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "causal, over a cache of %lld positions", (long long)cap));
  cg->used_B = true;
  cg_line(cg, "{");
  cg_line(cg, "  static TT_ALIGN float kv_scores[%lld];", (long long)cap);
  cg_line(cg, "  tt_kv_attention_f32(%lld, B, %lld, %s[0], %lld, %lld, %lld, %s, %s, %s, %s, %s, %s, (float)%.17g, %d, kv_scores, \"%s\");",
          (long long)nb, (long long)mb, cg_buf(cg, n->in[3]), (long long)cap, (long long)D, (long long)Dv,
          cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]), cg_buf(cg, n->in[2]), cg_buf(cg, n->in[4]),
          cg_buf(cg, n->in[5]), cg_buf(cg, id), mode ? n->attr.f[0] : 1.0, mode, cg_where(cg, n->loc));
  cg_line(cg, "}");
  return true;
}
