/*
 * rng.c — PyTorch's CPU random number stream, reproduced number for number.
 *
 * torch.manual_seed(s) seeds a 32-bit mt19937 (ATen's at::mt19937) with s & 0xffffffff.
 * Every draw below follows ATen 1.13's CPU kernels so that a .tt program and the same
 * program in PyTorch start from the same weights:
 *   - uniform: float32 takes one 32-bit draw and keeps 24 bits, float64 takes two draws
 *     (high word first) and keeps 53 bits; x * (hi - lo) + lo in the tensor's type.
 *   - normal, fewer than 16 elements: Box-Muller in double, one pair per two outputs, and
 *     the sine half is cached in the generator for the next call (the cache survives
 *     across calls until the next manual_seed).
 *   - normal, 16 or more elements: first fill the buffer with uniforms, then transform
 *     blocks of 16 (u1 = 1 - d[j], u2 = d[j + 8]); a ragged tail redraws the last 16.
 *     float32 uses ATen's AVX2 path (avx_mathfun's cephes log/sincos), which we port
 *     to scalar code below so that the results match bit for bit.
 */
#include "tt.h"

#include <math.h>
#include <string.h>

/* Bit equality with PyTorch depends on every rounding: ATen's AVX2 kernels are built by
 * gcc with -mfma -ffp-contract=fast, so some of its a * b + c are fused. We spell those
 * as fma()/fmaf() (found by testing against torch) and keep every other product and sum
 * a separate rounding, so the result does not depend on the flags this file is built
 * with (except -ffast-math, which must not be used here). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define MT_N 624
#define MT_M 397

typedef struct TtRng {
  uint32_t state[MT_N];
  int left, next;
  bool has_normal; /* cached second Box-Muller output (at::normal_distribution<double>) */
  double next_normal;
} TtRng;

/* gens[0] is torch's default generator; the others are the program's torch.Generator()
 * objects. Every draw reads the current one (tt_generator_use). */
static TtRng gens[TT_MAX_GENERATORS];
static TtRng *cur = &gens[0];
#define rng (*cur)

/* at::mt19937(seed): only the low 32 bits of the seed matter. */
static void seed_of(TtRng *g, uint64_t seed) {
  g->state[0] = (uint32_t)(seed & 0xffffffffu);
  for (uint32_t j = 1; j < MT_N; j++)
    g->state[j] = 1812433253u * (g->state[j - 1] ^ (g->state[j - 1] >> 30)) + j;
  g->left = 1;
  g->next = 0;
  g->has_normal = false;
}

void tt_manual_seed(uint64_t seed) { seed_of(&gens[0], seed); }

void tt_generator_seed(int g, uint64_t seed) {
  if (g < 0 || g >= TT_MAX_GENERATORS) tt_fatal("internal error: generator %d out of range", g);
  seed_of(&gens[g], seed);
}

void tt_generator_use(int g) {
  if (g < 0 || g >= TT_MAX_GENERATORS) tt_fatal("internal error: generator %d out of range", g);
  cur = &gens[g];
}

static uint32_t mix_bits(uint32_t u, uint32_t v) {
  return (u & 0x80000000u) | (v & 0x7fffffffu);
}

static uint32_t twist(uint32_t u, uint32_t v) {
  return (mix_bits(u, v) >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
}

static void next_state(TtRng *g) {
  uint32_t *p = g->state;
  g->left = MT_N;
  g->next = 0;
  for (int j = MT_N - MT_M + 1; --j; p++)
    *p = p[MT_M] ^ twist(p[0], p[1]);
  for (int j = MT_M; --j; p++)
    *p = p[MT_M - MT_N] ^ twist(p[0], p[1]);
  *p = p[MT_M - MT_N] ^ twist(p[0], g->state[0]);
}

static uint32_t random32_of(TtRng *g) {
  if (--g->left <= 0)
    next_state(g);
  uint32_t y = g->state[g->next++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= (y >> 18);
  return y;
}

static uint32_t random32(void) { return random32_of(&rng); }

/* CPUGeneratorImpl::random64: two 32-bit draws, the first one is the high word. */
static uint64_t random64(void) {
  uint32_t hi = random32();
  uint32_t lo = random32();
  return ((uint64_t)hi << 32) | lo;
}

/* at::uniform_real_distribution<float>(lo, hi) */
static float uniform_f32(float lo, float hi) {
  float x = (float)(random32() & ((1u << 24) - 1)) * (1.0f / 16777216.0f);
  return fmaf(x, hi - lo, lo); /* x * (to - from) + from, contracted by ATen's build */
}

/* at::uniform_real_distribution<double>(lo, hi) */
static double uniform_f64(double lo, double hi) {
  double x = (double)(random64() & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
  return fma(x, hi - lo, lo);
}

void tt_uniform_f32(float *out, int64_t n, double lo, double hi) {
  float flo = (float)lo, fhi = (float)hi;
  for (int64_t i = 0; i < n; i++)
    out[i] = uniform_f32(flo, fhi);
}

void tt_uniform_f64(double *out, int64_t n, double lo, double hi) {
  for (int64_t i = 0; i < n; i++)
    out[i] = uniform_f64(lo, hi);
}

/* at::normal_distribution<double>: the scalar path for small or non-contiguous tensors. */
static double normal_scalar(double mean, double std) {
  double ret;
  if (rng.has_normal) {
    rng.has_normal = false;
    ret = rng.next_normal;
  } else {
    double u1 = uniform_f64(0.0, 1.0);
    double u2 = uniform_f64(0.0, 1.0);
    double r = sqrt(-2.0 * log(1.0 - u2));
    double theta = 2.0 * 3.14159265358979323846 * u1;
    double s = r * sin(theta);
    rng.next_normal = s;
    rng.has_normal = true;
    ret = r * cos(theta);
  }
  return fma(ret, std, mean); /* ATen's val * std + mean, contracted by its build */
}

/* ---- avx_mathfun (cephes) log and sincos, one lane at a time ------------------------ */

static float bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static uint32_t f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* log256_ps for x in (0, 1]: the normal path never passes anything else. */
static float cephes_logf(float x) {
  bool invalid = !(x > 0.0f);
  if (!(x >= bits_to_f32(0x00800000u))) /* _mm256_max_ps(x, min_norm_pos): NaN -> min */
    x = bits_to_f32(0x00800000u);
  int32_t imm0 = (int32_t)(f32_to_bits(x) >> 23);
  x = bits_to_f32((f32_to_bits(x) & ~0x7f800000u) | f32_to_bits(0.5f));
  imm0 -= 0x7f;
  float e = (float)imm0;
  e = e + 1.0f;
  bool mask = x < 0.707106781186547524f;
  float tmp = mask ? x : 0.0f;
  x = x - 1.0f;
  e = e - (mask ? 1.0f : 0.0f);
  x = x + tmp;
  float z = x * x;
  float y = 7.0376836292E-2f;
  y = fmaf(y, x, -1.1514610310E-1f);
  y = fmaf(y, x, 1.1676998740E-1f);
  y = fmaf(y, x, -1.2420140846E-1f);
  y = fmaf(y, x, 1.4249322787E-1f);
  y = fmaf(y, x, -1.6668057665E-1f);
  y = fmaf(y, x, 2.0000714765E-1f);
  y = fmaf(y, x, -2.4999993993E-1f);
  y = fmaf(y, x, 3.3333331174E-1f);
  y = y * x;
  y = fmaf(y, z, e * -2.12194440e-4f);
  y = fmaf(-z, 0.5f, y);
  x = x + y;
  x = fmaf(e, 0.693359375f, x);
  if (invalid)
    x = bits_to_f32(0xffffffffu);
  return x;
}

static void cephes_sincosf(float x, float *s, float *c) {
  uint32_t sign_bit_sin = f32_to_bits(x) & 0x80000000u;
  x = fabsf(x);
  float y = x * 1.27323954473516f;
  int32_t imm2 = (int32_t)y; /* cvttps: truncation; theta < 2 pi so it never overflows */
  imm2 = (imm2 + 1) & ~1;
  y = (float)imm2;
  int32_t imm4 = imm2;
  uint32_t swap_sign_bit_sin = ((uint32_t)imm2 & 4u) << 29;
  bool poly_mask = (imm2 & 2) == 0;
  x = fmaf(y, -0.78515625f, x);
  x = fmaf(y, -2.4187564849853515625e-4f, x);
  x = fmaf(y, -3.77489497744594108e-8f, x);
  imm4 -= 2;
  uint32_t sign_bit_cos = (~(uint32_t)imm4 & 4u) << 29;
  sign_bit_sin ^= swap_sign_bit_sin;
  float z = x * x;
  y = 2.443315711809948E-005f;
  y = fmaf(y, z, -1.388731625493765E-003f);
  y = fmaf(y, z, 4.166664568298827E-002f);
  y = y * z;
  y = fmaf(y, z, -(z * 0.5f));
  y = y + 1.0f;
  float y2 = -1.9515295891E-4f;
  y2 = fmaf(y2, z, 8.3321608736E-3f);
  y2 = fmaf(y2, z, -1.6666654611E-1f);
  y2 = y2 * z;
  y2 = fmaf(y2, x, x);
  float ysin2 = poly_mask ? y2 : 0.0f;
  float ysin1 = poly_mask ? 0.0f : y;
  y2 = y2 - ysin2;
  y = y - ysin1;
  float sv = ysin1 + ysin2;
  float cv = y + y2;
  *s = bits_to_f32(f32_to_bits(sv) ^ sign_bit_sin);
  *c = bits_to_f32(f32_to_bits(cv) ^ sign_bit_cos);
}

/* normal_fill_16_AVX2 */
static void normal_fill_16_f32(float *d, float mean, float std) {
  const float two_pi = (float)(2.0f * 3.14159265358979323846);
  for (int j = 0; j < 8; j++) {
    float u1 = 1.0f - d[j];
    float u2 = d[j + 8];
    float radius = sqrtf(-2.0f * cephes_logf(u1));
    float theta = two_pi * u2;
    float sn, cs;
    cephes_sincosf(theta, &sn, &cs);
    float n1 = radius * cs;
    float n2 = radius * sn;
    d[j] = fmaf(n1, std, mean); /* _mm256_fmadd_ps */
    d[j + 8] = fmaf(n2, std, mean);
  }
}

/* normal_fill_16<double> */
static void normal_fill_16_f64(double *d, double mean, double std) {
  for (int j = 0; j < 8; j++) {
    double u1 = 1.0 - d[j];
    double u2 = d[j + 8];
    double radius = sqrt(-2.0 * log(u1));
    double theta = (double)2.0f * 3.14159265358979323846 * u2;
    double a = radius * cos(theta);
    d[j] = fma(a, std, mean); /* radius * cos * std + mean, contracted by ATen's build */
    double b = radius * sin(theta);
    d[j + 8] = fma(b, std, mean);
  }
}

void tt_normal_f32(float *out, int64_t n, double mean, double std) {
  if (n < 16) {
    for (int64_t i = 0; i < n; i++)
      out[i] = (float)normal_scalar(mean, std);
    return;
  }
  float fmean = (float)mean, fstd = (float)std;
  for (int64_t i = 0; i < n; i++)
    out[i] = uniform_f32(0.0f, 1.0f);
  for (int64_t i = 0; i + 16 <= n; i += 16)
    normal_fill_16_f32(out + i, fmean, fstd);
  if (n % 16 != 0) {
    float *tail = out + n - 16;
    for (int i = 0; i < 16; i++)
      tail[i] = uniform_f32(0.0f, 1.0f);
    normal_fill_16_f32(tail, fmean, fstd);
  }
}

void tt_normal_f64(double *out, int64_t n, double mean, double std) {
  if (n < 16) {
    for (int64_t i = 0; i < n; i++)
      out[i] = normal_scalar(mean, std);
    return;
  }
  for (int64_t i = 0; i < n; i++)
    out[i] = uniform_f64(0.0, 1.0);
  for (int64_t i = 0; i + 16 <= n; i += 16)
    normal_fill_16_f64(out + i, mean, std);
  if (n % 16 != 0) {
    double *tail = out + n - 16;
    for (int i = 0; i < 16; i++)
      tail[i] = uniform_f64(0.0, 1.0);
    normal_fill_16_f64(tail, mean, std);
  }
}

/* ---- host draws: the DataLoader's seeds and shuffles -------------------------------- */

/*
 * What a DataLoader consumes, found by replaying torch 1.13 against this generator:
 * torch.empty((), dtype=torch.int64).random_() takes exactly one random64() (two 32-bit
 * draws, high word first) and keeps it modulo 2^63 (uniform_int_distribution<int64_t>).
 * Each epoch, _BaseDataLoaderIter.__init__ draws one such value for its workers' base
 * seed (even with shuffle=False and no workers), then RandomSampler.__iter__ draws one
 * more and seeds a fresh torch.Generator with it, whose mt19937 keeps the low 32 bits.
 */
uint64_t tt_rng_random64(void) { return random64(); }

/* ATen's randperm_cpu: r = 0..n-1, then for i in 0..n-2 swap r[i] with
 * r[i + random() % (n - i)], random() being one 32-bit draw of the private generator.
 * Verified equal to torch.randperm(n, generator=g) for n from 1 to 60000. */
void tt_randperm(int64_t *perm, int64_t n, uint64_t seed) {
  TtRng g;
  seed_of(&g, seed);
  for (int64_t i = 0; i < n; i++)
    perm[i] = i;
  for (int64_t i = 0; i + 1 < n; i++) {
    int64_t z = (int64_t)(random32_of(&g) % (uint64_t)(n - i));
    int64_t t = perm[i];
    perm[i] = perm[i + z];
    perm[i + z] = t;
  }
}

/* torch.randperm(n) from the program's generator: the same shuffle as tt_randperm. */
void tt_randperm_i64(int64_t *perm, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    perm[i] = i;
  for (int64_t i = 0; i + 1 < n; i++) {
    int64_t z = (int64_t)(random32() % (uint64_t)(n - i));
    int64_t t = perm[i];
    perm[i] = perm[i + z];
    perm[i + z] = t;
  }
}

/* torch.randint(low, high, size) on int64, as ATen's random_from_to: a 32-bit draw when
 * the range fits in 32 bits, else a 64-bit one, taken modulo the range. */
void tt_randint_i64(int64_t *out, int64_t n, int64_t lo, int64_t hi) {
  uint64_t range = (uint64_t)hi - (uint64_t)lo;
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = range >= (1ULL << 32) ? random64() : (uint64_t)random32();
    out[i] = (int64_t)((uint64_t)lo + r % range);
  }
}
