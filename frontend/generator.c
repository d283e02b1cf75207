/*
 * generator.c — torch.Generator objects and the generator= argument of the random draws.
 *
 * Each torch.Generator() is its own mt19937 stream, as PyTorch's CPU generator is: created
 * with PyTorch's default seed 67280421310721, reseeded by g.manual_seed(s). The program
 * numbers its generators 1, 2, ... at compile time (0 is torch's default one); the runtime
 * keeps one state per number (runtime/rng.c). A draw with generator=g is wrapped in
 * GEN_USE nodes, g's number before it and 0 after it, so the default stream is untouched.
 */
#include "lower.h"

#include <string.h>

#define GEN_DEFAULT_SEED 67280421310721LL /* c10's default_rng_seed_val */
#define GEN_MAX 64                          /* TT_MAX_GENERATORS in runtime/tt.h */

static void gen_seed_node(L *l, int id, int64_t seed, int32_t off) {
  Attr at = {0};
  at.i[0] = id;
  at.i[1] = seed;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  add_node(l, OP_GEN_SEED, NULL, 0, &at, off);
}

static bool is_generator(const Value *v) {
  return v && v->k == V_OBJECT && v->cls && v->cls->s && !strcmp(v->cls->s, "Generator");
}

/* g.manual_seed(seed): reseeds g where it is called; returns g, as PyTorch does. */
static Value *bi_generator_manual_seed(L *l, Value *self, Args *a) {
  Value *v[2];
  args_bind(l, "manual_seed", "self, seed", self, a, v, 2);
  if (v[1]->k == V_HOST)
    lerr(l, a->off, "Generator.manual_seed(): a seed known only at run time is not supported by ttc");
  int64_t seed = want_int(l, v[1], "seed", a->off);
  gen_seed_node(l, (int)attrs_get(&self->attrs, "__gen__")->i, seed, a->off);
  attrs_set(l, &self->attrs, "__seed__", v_int(l, seed));
  return self;
}

/* g.initial_seed(): the seed g was last seeded with. */
static Value *bi_generator_initial_seed(L *l, Value *self, Args *a) {
  Value *v[1];
  args_bind(l, "initial_seed", "self", self, a, v, 1);
  return attrs_get(&self->attrs, "__seed__");
}

static const Builtin generator_methods[] = {
    {"manual_seed", BI_METHOD, bi_generator_manual_seed, 0},
    {"initial_seed", BI_METHOD, bi_generator_initial_seed, 0},
};

static Value *bound_method(L *l, const Builtin *b, Value *self) {
  Value *m = v_new(l, V_BUILTIN);
  m->bi = b;
  m->self = self;
  m->s = b->name;
  return m;
}

/* torch.Generator(device='cpu') */
BI_FN(Generator) {
  Value *v[1];
  args_bind(l, "Generator", "device='cpu'", self, a, v, 1);
  if (v[0] && (v[0]->k != V_STR || strcmp(v[0]->s, "cpu")))
    lerr(l, a->off, "Generator(): ttc compiles for the CPU; device must be 'cpu'");
  if (l->loop_depth > 0)
    lerr(l, a->off, "torch.Generator() inside a loop that runs at run time is not supported by ttc; "
                    "create the generator before the loop");
  if (l->ngenerators + 1 >= GEN_MAX)
    lerr(l, a->off, "torch.Generator(): ttc supports at most %d generators in a program", GEN_MAX - 1);
  int id = ++l->ngenerators;
  Value *cls = v_new(l, V_CLASS);
  cls->bi = bi_lookup("Generator", BI_FUNC);
  cls->s = "Generator";
  Value *o = v_new(l, V_OBJECT);
  o->cls = cls;
  attrs_set(l, &o->attrs, "__gen__", v_int(l, id));
  attrs_set(l, &o->attrs, "__seed__", v_int(l, GEN_DEFAULT_SEED));
  attrs_set(l, &o->attrs, "manual_seed", bound_method(l, &generator_methods[0], o));
  attrs_set(l, &o->attrs, "initial_seed", bound_method(l, &generator_methods[1], o));
  attrs_set(l, &o->attrs, "device", v_str(l, "cpu"));
  gen_seed_node(l, id, GEN_DEFAULT_SEED, a->off);
  return o;
}

int gen_arg(L *l, Value *g, const char *fname, int32_t off) {
  if (!g || g->k == V_NONE) return 0;
  if (!is_generator(g))
    lerr(l, off, "%s(): generator must be a torch.Generator, not %s", fname, v_typename(g));
  return (int)attrs_get(&g->attrs, "__gen__")->i;
}

void gen_use(L *l, int gen, int32_t off) {
  if (!gen) return;
  Attr at = {0};
  at.i[0] = gen;
  add_node(l, OP_GEN_USE, NULL, 0, &at, off);
}

void gen_done(L *l, int gen, int32_t off) {
  if (!gen) return;
  Attr at = {0};
  at.i[0] = 0;
  add_node(l, OP_GEN_USE, NULL, 0, &at, off);
}
