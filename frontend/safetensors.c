/*
 * safetensors.c — the safetensors package's torch API (safetensors.torch): save_file,
 * load_file, save_model and load_model, as PyTorch programs call them to exchange weights.
 *
 * The bytes are read and written when the program runs (runtime/safetensors.c), through the
 * checkpoint statements (ST_SAVE / ST_LOAD) with a path tagged "\1METADATA\1PATH" (keep in
 * sync with the runtime). What a load gives — the names, dtypes and shapes — must be known
 * at compile time, so load_file reads the file's header here (with cJSON), unless this
 * program saved that path earlier, in which case what it saved is what it will read; the
 * run-time load checks the file again, strictly, against what was compiled.
 *
 * As the package does: load_file's dict is ordered by name; save_file refuses a tensor that
 * is not contiguous and a tensor given twice (shared memory); save_model drops a repeated
 * (tied) parameter and records it in the metadata; load_model with strict=True refuses
 * missing and unexpected names.
 */
#include "lower.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* ---- the compile-time view of a file ---------------------------------------------------- */

typedef struct StEntry {
  const char *key;
  DType dt;
  Shape shape;
} StEntry;

typedef struct StFile {
  StEntry *e;
  int n;
} StFile;

static int by_key(const void *a, const void *b) {
  return strcmp(((const StEntry *)a)->key, ((const StEntry *)b)->key);
}

static bool st_dtype_of(const char *s, DType *dt) {
  static const struct { const char *name; DType dt; } t[] = {
      {"F32", DT_F32}, {"F64", DT_F64}, {"I64", DT_I64}, {"I32", DT_I32}, {"I8", DT_I8}, {"BOOL", DT_BOOL}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(s, t[i].name)) {
      *dt = t[i].dt;
      return true;
    }
  return false;
}

/* The header of path, its tensors sorted by name; a diagnostic at off if it cannot be read. */
static StFile *read_header(L *l, const char *path, int32_t off) {
  FILE *f = fopen(path, "rb");
  if (!f)
    lerr(l, off, "cannot read the safetensors file '%s' (its names, dtypes and shapes are needed "
                 "when the program is compiled)", path);
  unsigned char len8[8];
  uint64_t hlen = 0;
  const char *why = NULL;
  char *head = NULL;
  if (fread(len8, 1, 8, f) != 8) why = "it is shorter than its 8-byte header length";
  else {
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen < 2 || hlen > 100u * 1000u * 1000u) why = "its header length is not plausible (not a safetensors file?)";
    else {
      head = xmalloc((size_t)hlen + 1);
      if (fread(head, 1, (size_t)hlen, f) != hlen) why = "it is truncated (its header)";
      else head[hlen] = 0;
    }
  }
  fclose(f);
  cJSON *root = !why ? cJSON_ParseWithLength(head, (size_t)hlen) : NULL;
  free(head);
  if (!why && !cJSON_IsObject(root)) why = "its header is not a JSON object";
  StFile *sf = arena_alloc(l->arena, sizeof *sf);
  sf->e = arena_alloc(l->arena, sizeof *sf->e * (size_t)(root ? cJSON_GetArraySize(root) + 1 : 1));
  sf->n = 0;
  for (const cJSON *it = root && !why ? root->child : NULL; it && !why; it = it->next) {
    if (!strcmp(it->string, "__metadata__")) continue;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
    StEntry *e = &sf->e[sf->n];
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape)) {
      why = arena_printf(l->arena, "tensor '%s' has no dtype or shape", it->string);
      break;
    }
    if (!st_dtype_of(dt->valuestring, &e->dt)) {
      why = arena_printf(l->arena, "tensor '%s' is %s; ttc holds F32, F64, I64, I32, I8 and BOOL", it->string,
                         dt->valuestring);
      break;
    }
    e->shape = shape_scalar();
    if (cJSON_GetArraySize(shape) > TT_MAX_RANK) {
      why = arena_printf(l->arena, "tensor '%s' has too many dimensions", it->string);
      break;
    }
    for (const cJSON *d = shape->child; d; d = d->next) {
      if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1e15 ||
          d->valuedouble != (double)(int64_t)d->valuedouble) {
        why = arena_printf(l->arena, "tensor '%s' has a bad shape", it->string);
        break;
      }
      e->shape.d[e->shape.rank++] = (int64_t)d->valuedouble;
    }
    e->key = arena_strdup(l->arena, it->string);
    sf->n++;
  }
  cJSON_Delete(root);
  if (why) lerr(l, off, "safetensors file '%s': %s", path, why);
  qsort(sf->e, (size_t)sf->n, sizeof *sf->e, by_key);
  return sf;
}

/* What path will hold when the program reaches off: what it saved there last, else the
 * file as it is now. */
static StFile *file_view(L *l, const char *path, int32_t off) {
  for (int r = l->st_saves ? l->st_saves->n - 1 : -1; r >= 0; r--) {
    Value *rec = l->st_saves->items[r];
    if (strcmp(rec->items[0]->s, path)) continue;
    return (StFile *)(uintptr_t)rec->items[1]->i;
  }
  return read_header(l, path, off);
}

/* ---- statements ------------------------------------------------------------------------ */

/* The tagged path the runtime's tt_ckpt_save/load hand to safetensors.c. */
static const char *tagged(L *l, const char *meta, const char *path) {
  return arena_printf(l->arena, "\1%s\1%s", meta ? meta : "", path);
}

static void io_stmt(L *l, StmtKind kind, const char *tag, Value *keys, Value *vals, int32_t off) {
  end_graph(l); /* the graph before has run; the one after sees what a load wrote */
  Stmt *st = emit_stmt(l, kind, off);
  st->path = arena_strdup(l->p->arena, tag);
  st->nkeys = keys->n;
  st->keys = arena_alloc(l->p->arena, sizeof(char *) * (size_t)(keys->n + 1));
  st->vars = arena_alloc(l->p->arena, sizeof(int) * (size_t)(keys->n + 1));
  for (int i = 0; i < keys->n; i++) {
    st->keys[i] = arena_strdup(l->p->arena, keys->items[i]->s);
    st->vars[i] = vals->items[i]->t.var;
  }
}

static const char *want_path(L *l, Value *v, const char *fn, int32_t off) {
  if (!v || v->k != V_STR) lerr(l, off, "%s(): the file name must be a string known when the program is compiled", fn);
  if (!v->s[0]) lerr(l, off, "%s(): the file name is empty", fn);
  return v->s;
}

/* metadata: None or a dict of str to str, as JSON text (NULL for None). */
static const char *metadata_json(L *l, Value *m, const char *fn, int32_t off) {
  if (!m || m->k == V_NONE) return NULL;
  if (m->k != V_DICT) lerr(l, off, "%s(): metadata must be a dict of str to str", fn);
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i + 1 < m->n; i += 2) {
    if (m->items[i]->k != V_STR || m->items[i + 1]->k != V_STR) {
      cJSON_Delete(o);
      lerr(l, off, "%s(): metadata must be a dict of str to str", fn);
    }
    cJSON_AddStringToObject(o, m->items[i]->s, m->items[i + 1]->s);
  }
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  const char *r = arena_strdup(l->arena, s);
  free(s);
  return r;
}

static bool contiguous(L *l, Value *t, int32_t off) {
  Value *fn = bi_getattr(l, t, "is_contiguous", off);
  Args a = {.off = off};
  Value *r = v_call(l, fn, &a);
  return r->k != V_BOOL || r->i;
}

/* save_file's work: tensors is a dict of names to tensors. */
static void save_dict(L *l, Value *d, const char *path, const char *meta, const char *fn, int32_t off) {
  if (!d || d->k != V_DICT) lerr(l, off, "%s(): expected a dict of names to tensors", fn);
  Value *keys = v_new(l, V_LIST), *vals = v_new(l, V_LIST);
  StFile *sf = arena_alloc(l->arena, sizeof *sf);
  sf->e = arena_alloc(l->arena, sizeof *sf->e * (size_t)(d->n / 2 + 1));
  sf->n = 0;
  for (int i = 0; i + 1 < d->n; i += 2) {
    Value *k = d->items[i], *t = d->items[i + 1];
    if (k->k != V_STR) lerr(l, off, "%s(): the dict's keys must be strings", fn);
    if (t->k != V_TENSOR) lerr(l, off, "%s(): '%s' is of type %s; safetensors holds tensors only", fn, k->s, v_typename(t));
    if (tshape(l, t).symm) lerr(l, off, "%s(): '%s' has a batch dimension, known only when the program runs", fn, k->s);
    if (!contiguous(l, t, off))
      lerr(l, off, "%s(): '%s' is not contiguous, which safetensors refuses (save '%s'.contiguous())", fn, k->s, k->s);
    for (int j = 0; j < vals->n; j++)
      if (vals->items[j] == t || (t->t.var >= 0 && vals->items[j]->t.var == t->t.var))
        lerr(l, off, "%s(): '%s' and '%s' are the same tensor (they share memory), which safetensors "
                     "refuses; save one of them (save_model drops the repeat)", fn,
             keys->items[j]->s, k->s);
    tvar(l, t);
    v_list_push(l, keys, k);
    v_list_push(l, vals, t);
    sf->e[sf->n++] = (StEntry){k->s, tdtype(l, t), tshape(l, t)};
  }
  qsort(sf->e, (size_t)sf->n, sizeof *sf->e, by_key);
  io_stmt(l, ST_SAVE, tagged(l, meta, path), keys, vals, off);
  /* what the file holds from here on, for a load_file of it later in the program */
  Value *rec = v_tuple(l, 2);
  rec->items[0] = v_str(l, path);
  rec->items[1] = v_int(l, (int64_t)(uintptr_t)sf);
  if (!l->st_saves) l->st_saves = v_new(l, V_LIST);
  v_list_push(l, l->st_saves, rec);
}

/* save_file(tensors, filename, metadata=None) */
static BI_FN(st_save_file) {
  Value *v[3];
  args_bind(l, "save_file", "tensors, filename, metadata=None", self, a, v, 3);
  const char *path = want_path(l, v[1], "save_file", a->off);
  save_dict(l, v[0], path, metadata_json(l, v[2], "save_file", a->off), "save_file", a->off);
  return l->none;
}

/* load_file(filename, device="cpu"): a dict of fresh tensors, ordered by name */
static BI_FN(st_load_file) {
  Value *v[2];
  args_bind(l, "load_file", "filename, device='cpu'", self, a, v, 2);
  const char *path = want_path(l, v[0], "load_file", a->off);
  if (v[1] && (v[1]->k != V_STR || strcmp(v[1]->s, "cpu")))
    lerr(l, a->off, "load_file(): ttc runs on the CPU: device must be 'cpu'");
  StFile *sf = file_view(l, path, a->off);
  Value *d = v_new(l, V_DICT), *keys = v_new(l, V_LIST), *vals = v_new(l, V_LIST);
  for (int i = 0; i < sf->n; i++) {
    int var = ir_var_new(l->p, "loaded", VAR_VALUE, sf->e[i].dt, sf->e[i].shape);
    Value *t = v_new(l, V_TENSOR);
    t->t.var = var;
    t->t.leaf = true;
    v_list_push(l, keys, v_str(l, sf->e[i].key));
    v_list_push(l, vals, t);
  }
  io_stmt(l, ST_LOAD, tagged(l, NULL, path), keys, vals, a->off);
  for (int i = 0; i < keys->n; i++) {
    v_list_push(l, d, keys->items[i]);
    v_list_push(l, d, vals->items[i]);
  }
  return d;
}

static Value *state_dict_of(L *l, Value *model, const char *fn, int32_t off) {
  if (!model || model->k != V_OBJECT) lerr(l, off, "%s(): expected an nn.Module", fn);
  Value *sd_fn = bi_getattr(l, model, "state_dict", off);
  if (!sd_fn) lerr(l, off, "%s(): expected an nn.Module", fn);
  Args a = {.off = off};
  Value *sd = v_call(l, sd_fn, &a);
  if (sd->k != V_DICT) lerr(l, off, "%s(): expected an nn.Module", fn);
  return sd;
}

/* save_model(model, filename, metadata=None): state_dict() less repeated (tied) tensors,
 * each dropped name recorded in the metadata as the name that was kept */
static BI_FN(st_save_model) {
  Value *v[4];
  args_bind(l, "save_model", "model, filename, metadata=None, force_contiguous=False", self, a, v, 4);
  if (v[3] && want_bool(l, v[3], a->off))
    lerr(l, a->off, "save_model(): force_contiguous=True is not supported");
  const char *path = want_path(l, v[1], "save_model", a->off);
  Value *sd = state_dict_of(l, v[0], "save_model", a->off);
  Value *meta = v[2] && v[2]->k != V_NONE ? v[2] : NULL;
  if (meta && meta->k != V_DICT) lerr(l, a->off, "save_model(): metadata must be a dict of str to str");
  Value *kept = v_new(l, V_DICT);
  for (int i = 0; i + 1 < sd->n; i += 2) {
    Value *t = sd->items[i + 1];
    int dup = -1;
    for (int j = 0; j + 1 < kept->n && dup < 0; j += 2)
      if (kept->items[j + 1] == t || (t->t.var >= 0 && kept->items[j + 1]->t.var == t->t.var)) dup = j;
    if (dup < 0) {
      v_list_push(l, kept, sd->items[i]);
      v_list_push(l, kept, t);
      continue;
    }
    /* safetensors keeps the name that sorts first... of the names it sees as shared; here
     * the first in state_dict order, which is the same for ordinary tied weights */
    if (strcmp(kept->items[dup]->s, sd->items[i]->s) > 0)
      lerr(l, a->off, "save_model(): tied tensors '%s' and '%s': ttc keeps the first, safetensors the "
                      "name that sorts first", kept->items[dup]->s, sd->items[i]->s);
    if (!meta) meta = v_new(l, V_DICT);
    bool has = false;
    for (int j = 0; j + 1 < meta->n; j += 2) has |= meta->items[j]->k == V_STR && !strcmp(meta->items[j]->s, sd->items[i]->s);
    if (!has) {
      v_list_push(l, meta, sd->items[i]);
      v_list_push(l, meta, kept->items[dup]);
    }
  }
  save_dict(l, kept, path, metadata_json(l, meta, "save_model", a->off), "save_model", a->off);
  return l->none;
}

/* load_model(model, filename, strict=True, device="cpu"): loads into the model's own tensors;
 * returns (missing, unexpected): an empty set and an empty list */
static BI_FN(st_load_model) {
  Value *v[4];
  args_bind(l, "load_model", "model, filename, strict=True, device='cpu'", self, a, v, 4);
  const char *path = want_path(l, v[1], "load_model", a->off);
  Value *sd = state_dict_of(l, v[0], "load_model", a->off);
  StFile *sf = file_view(l, path, a->off);
  Value *keys = v_new(l, V_LIST), *vals = v_new(l, V_LIST);
  for (int i = 0; i + 1 < sd->n; i += 2) {
    Value *t = sd->items[i + 1];
    bool dup = false; /* a tied tensor is loaded once, under the name the file has */
    for (int j = 0; j < vals->n; j++) dup |= vals->items[j]->t.var >= 0 && vals->items[j]->t.var == t->t.var;
    const StEntry *e = NULL;
    for (int j = 0; j < sf->n && !e; j++)
      if (!strcmp(sf->e[j].key, sd->items[i]->s)) e = &sf->e[j];
    if (dup && !e) continue;
    if (!e) lerr(l, a->off, "load_model(): '%s' has no tensor '%s' (missing key)", path, sd->items[i]->s);
    Shape sh = tshape(l, t);
    if (e->dt != tdtype(l, t) || !shape_eq(&e->shape, &sh))
      lerr(l, a->off, "load_model(): '%s' holds '%s' with another dtype or shape than the model's", path, e->key);
    if (t->t.var < 0) tvar(l, t);
    v_list_push(l, keys, sd->items[i]);
    v_list_push(l, vals, t);
  }
  if (keys->n != sf->n)
    for (int j = 0; j < sf->n; j++) {
      bool known = false;
      for (int i = 0; i < keys->n && !known; i++) known = !strcmp(keys->items[i]->s, sf->e[j].key);
      if (!known) lerr(l, a->off, "load_model(): '%s' holds '%s', which the model does not have (unexpected key)", path, sf->e[j].key);
    }
  (void)v[2]; /* strict or not, the names match here: nothing is missing or unexpected */
  if (v[3] && (v[3]->k != V_STR || strcmp(v[3]->s, "cpu")))
    lerr(l, a->off, "load_model(): ttc runs on the CPU: device must be 'cpu'");
  io_stmt(l, ST_LOAD, tagged(l, NULL, path), keys, vals, a->off);
  for (int i = 0; i < vals->n; i++) vals->items[i]->t.graph = -1; /* read what was loaded */
  Value *r = v_tuple(l, 2);
  r->items[0] = v_new(l, V_LIST); /* the package gives the missing names as a set */
  r->items[0]->s = "set";
  r->items[1] = v_new(l, V_LIST);
  return r;
}

static const Builtin st_builtins[] = {
    {"save_file", BI_FUNC, bi_st_save_file, 0},
    {"load_file", BI_FUNC, bi_st_load_file, 0},
    {"save_model", BI_FUNC, bi_st_save_model, 0},
    {"load_model", BI_FUNC, bi_st_load_model, 0},
};

Value *safetensors_getattr(L *l, Value *ns, const char *name, int32_t off) {
  if (!strcmp(ns->s, "safetensors")) {
    if (strcmp(name, "torch")) lerr(l, off, "module 'safetensors' has no attribute '%s' in ttc (it has safetensors.torch)", name);
    Value *t = v_new(l, V_NS);
    t->s = "safetensors.torch";
    return t;
  }
  for (size_t i = 0; i < sizeof st_builtins / sizeof st_builtins[0]; i++)
    if (!strcmp(name, st_builtins[i].name)) {
      Value *bv = v_new(l, V_BUILTIN);
      bv->bi = &st_builtins[i];
      bv->s = st_builtins[i].name;
      return bv;
    }
  lerr(l, off, "module 'safetensors.torch' has no attribute '%s' in ttc (it has save_file, load_file, "
               "save_model, load_model)", name);
}

/* ---- model.load_state_dict(a dict of tensors) ------------------------------------------ */

/* module.load_state_dict(d) where d is a dict of tensors (load_file's, or one the program
 * built): each entry copied into the module's tensor of that name, under no_grad, as
 * PyTorch's copy_; strict, as its default. Anything else goes to the original method. */
static BI_FN(st_load_state_dict) {
  Value *orig = self->fn;
  Value *model = self->self;
  Value *d = a->npos >= 1 ? a->pos[0] : NULL;
  for (int i = 0; i < a->nkw && !d; i++)
    if (!strcmp(a->kwnames[i], "state_dict")) d = a->kw[i];
  if (!d || d->k != V_DICT || attrs_get(&model->attrs, "__optim__")) return v_call(l, orig, a);
  Value *v[3];
  args_bind(l, "load_state_dict", "self, state_dict, strict=True", model, a, v, 3);
  if (v[2] && !want_bool(l, v[2], a->off))
    lerr(l, a->off, "load_state_dict(strict=False): its result (the missing and unexpected keys) is not supported");
  Value *sd = state_dict_of(l, model, "load_state_dict", a->off);
  for (int i = 0; i + 1 < d->n; i += 2)
    if (d->items[i]->k != V_STR || d->items[i + 1]->k != V_TENSOR)
      lerr(l, a->off, "load_state_dict(): expected a dict of names to tensors");
  for (int i = 0; i + 1 < sd->n; i += 2) {
    Value *t = NULL;
    for (int j = 0; j + 1 < d->n && !t; j += 2)
      if (!strcmp(d->items[j]->s, sd->items[i]->s)) t = d->items[j + 1];
    if (!t) {
      lerr(l, a->off, "Error(s) in loading state_dict: Missing key(s) in state_dict: \"%s\"", sd->items[i]->s);
    }
    Value *p = sd->items[i + 1];
    Shape ps = tshape(l, p), ts = tshape(l, t);
    if (!shape_eq(&ps, &ts)) {
      char b1[64], b2[64];
      lerr(l, a->off, "Error(s) in loading state_dict: size mismatch for %s: copying a param with shape "
                      "torch.Size(%s) from checkpoint, the shape in current model is torch.Size(%s)",
           sd->items[i]->s, shape_str(&ts, b1, sizeof b1), shape_str(&ps, b2, sizeof b2));
    }
    bool saved = l->no_grad;
    l->no_grad = true;
    tensor_inplace(l, p, t, a->off);
    l->no_grad = saved;
  }
  for (int j = 0; j + 1 < d->n; j += 2) {
      bool known = false;
      for (int i = 0; i + 1 < sd->n && !known; i += 2) known = !strcmp(d->items[j]->s, sd->items[i]->s);
      if (!known) lerr(l, a->off, "Error(s) in loading state_dict: Unexpected key(s) in state_dict: \"%s\"", d->items[j]->s);
    }
  return l->none;
}

static const Builtin st_lsd = {"load_state_dict", BI_FUNC, bi_st_load_state_dict, 0};

Value *state_dict_loader(L *l, Value *obj, Value *orig) {
  Value *bv = v_new(l, V_BUILTIN);
  bv->bi = &st_lsd;
  bv->s = "load_state_dict";
  bv->self = v_new(l, V_METHOD); /* carries the module and the original method */
  bv->self->self = obj;
  bv->self->fn = orig;
  return bv;
}
