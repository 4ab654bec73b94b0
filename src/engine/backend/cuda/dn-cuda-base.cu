// dn-cuda-base.cu: the CUDA backend's device, memory, BLAS and bias ops (the twin of
// dn-backend-cpu.c), and the scratch and reductions the other dn-cuda-*.cu files share.
//
// GEMMs are cuBLAS on row-major matrices through the transposition identity: a row-major
// (r, c) matrix is its column-major transpose, so C = op(A) op(B) is computed as
// C^T = op(B)^T op(A)^T with the operands swapped. cuBLAS runs in its default math mode
// (full fp32, no TF32) with atomics disallowed, so its results repeat run after run.
#include "dn-backend-cuda-private.h"

#include <cublas_v2.h>
#include <stdio.h>
#include <string.h>

static struct {
    int open;
    int device;
    cublasHandle_t blas;
    void *scratch[2];
    size_t scratch_size[2];
    double *partials; /* reduction partials, REDUCE_BLOCKS doubles + 1 */
    char error[256];
} ctx = {0, -1};

#define REDUCE_BLOCKS 256

void dn_cuda_note (cudaError_t err, const char *where)
{
    if (err == cudaSuccess || ctx.error[0] != '\0')
        return;
    snprintf (ctx.error, sizeof ctx.error, "%s: %s", where, cudaGetErrorString (err));
}

static void note_blas (cublasStatus_t st, const char *where)
{
    if (st == CUBLAS_STATUS_SUCCESS || ctx.error[0] != '\0')
        return;
    snprintf (ctx.error, sizeof ctx.error, "%s: cuBLAS status %d", where, (int) st);
}

extern "C" const char *dn_cuda_take_error (void)
{
    static char taken[256];
    if (ctx.error[0] == '\0')
        return NULL;
    memcpy (taken, ctx.error, sizeof taken);
    ctx.error[0] = '\0';
    return taken;
}

extern "C" int dn_cuda_open (int index, char *msg, size_t msg_len)
{
    if (ctx.open) {
        if (index == ctx.device)
            return 0;
        snprintf (msg, msg_len, "the CUDA backend already runs on device %d of this process",
                  ctx.device);
        return -1;
    }
    int n = 0;
    cudaError_t err = cudaGetDeviceCount (&n);
    if (err != cudaSuccess || n == 0) {
        snprintf (msg, msg_len, "no CUDA device is available (%s)",
                  err != cudaSuccess ? cudaGetErrorString (err) : "none found");
        return -1;
    }
    if (index < 0 || index >= n) {
        snprintf (msg, msg_len, "there is no CUDA device %d: this machine has %d (0 to %d)", index,
                  n, n - 1);
        return -1;
    }
    if ((err = cudaSetDevice (index)) != cudaSuccess) {
        snprintf (msg, msg_len, "CUDA device %d cannot be used: %s", index,
                  cudaGetErrorString (err));
        return -1;
    }
    cublasStatus_t st = cublasCreate (&ctx.blas);
    if (st != CUBLAS_STATUS_SUCCESS) {
        snprintf (msg, msg_len, "cuBLAS could not start on CUDA device %d (status %d)", index,
                  (int) st);
        return -1;
    }
    cublasSetMathMode (ctx.blas, CUBLAS_DEFAULT_MATH);
    cublasSetAtomicsMode (ctx.blas, CUBLAS_ATOMICS_NOT_ALLOWED);
    cublasSetPointerMode (ctx.blas, CUBLAS_POINTER_MODE_HOST);
    if ((err = cudaMalloc (&ctx.partials, (REDUCE_BLOCKS + 1) * sizeof (double))) != cudaSuccess) {
        cublasDestroy (ctx.blas);
        snprintf (msg, msg_len, "CUDA device %d: %s", index, cudaGetErrorString (err));
        return -1;
    }
    ctx.open = 1;
    ctx.device = index;
    return 0;
}

extern "C" void dn_cuda_memory_info (DnBackend *be, size_t *free_bytes, size_t *total_bytes)
{
    (void) be;
    size_t f = 0, t = 0;
    if (cudaMemGetInfo (&f, &t) != cudaSuccess)
        f = t = 0;
    *free_bytes = f;
    *total_bytes = t;
}

static void *scratch_at (int i, size_t bytes)
{
    if (bytes <= ctx.scratch_size[i])
        return ctx.scratch[i];
    /* the op before may still read the old block: wait for it */
    cudaDeviceSynchronize ();
    cudaFree (ctx.scratch[i]);
    ctx.scratch[i] = NULL;
    ctx.scratch_size[i] = 0;
    size_t want = bytes + bytes / 4;
    cudaError_t err = cudaMalloc (&ctx.scratch[i], want);
    if (err != cudaSuccess) {
        cudaGetLastError ();
        dn_cuda_note (err, "scratch memory");
        ctx.scratch[i] = NULL;
        return NULL;
    }
    ctx.scratch_size[i] = want;
    return ctx.scratch[i];
}

void *dn_cuda_scratch (size_t bytes)
{
    return scratch_at (0, bytes);
}

void *dn_cuda_scratch2 (size_t bytes)
{
    return scratch_at (1, bytes);
}

/* ---- memory ---- */

extern "C" void *dn_cuda_alloc (DnBackend *be, size_t bytes)
{
    (void) be;
    void *p = NULL;
    /* a zero-byte block still gets a distinct address, as the CPU's alloc gives */
    if (cudaMalloc (&p, bytes > 0 ? bytes : 16) != cudaSuccess) {
        cudaGetLastError (); /* out of memory is the caller's to report, not sticky */
        return NULL;
    }
    if (cudaMemset (p, 0, bytes > 0 ? bytes : 16) != cudaSuccess) {
        cudaFree (p);
        return NULL;
    }
    return p;
}

extern "C" void dn_cuda_free (DnBackend *be, void *p)
{
    (void) be;
    if (p != NULL)
        dn_cuda_note (cudaFree (p), "free");
}

extern "C" void dn_cuda_upload (DnBackend *be, void *dst, const void *host_src, size_t bytes)
{
    (void) be;
    if (bytes > 0)
        dn_cuda_note (cudaMemcpy (dst, host_src, bytes, cudaMemcpyHostToDevice), "upload");
}

extern "C" void dn_cuda_download (DnBackend *be, void *host_dst, const void *src, size_t bytes)
{
    (void) be;
    if (bytes > 0)
        dn_cuda_note (cudaMemcpy (host_dst, src, bytes, cudaMemcpyDeviceToHost), "download");
}

extern "C" void dn_cuda_zero (DnBackend *be, float *x, size_t n)
{
    (void) be;
    if (n > 0)
        dn_cuda_note (cudaMemsetAsync (x, 0, n * sizeof (float), 0), "zero");
}

extern "C" void dn_cuda_copy (DnBackend *be, float *dst, const float *src, size_t n)
{
    (void) be;
    if (dst == src || n == 0)
        return;
    size_t bytes = n * sizeof (float);
    if (dst < src + n && src < dst + n) {
        /* overlapping ranges: memmove's semantics through a scratch copy */
        float *tmp = (float *) dn_cuda_scratch (bytes);
        if (tmp == NULL)
            return;
        dn_cuda_note (cudaMemcpyAsync (tmp, src, bytes, cudaMemcpyDeviceToDevice, 0), "copy");
        src = tmp;
    }
    dn_cuda_note (cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToDevice, 0), "copy");
}

extern "C" void dn_cuda_synchronize (DnBackend *be)
{
    (void) be;
    dn_cuda_note (cudaDeviceSynchronize (), "synchronize");
}

/* ---- BLAS ---- */

// a is op(a) (m, k), b is op(b) (k, n), c is (m, n); all row-major
extern "C" void dn_cuda_gemm (DnBackend *be, gboolean trans_a, gboolean trans_b, int m, int n,
                              int k, float alpha, const float *a, int lda, const float *b,
                              int ldb, float beta, float *c, int ldc)
{
    (void) be;
    if (m == 0 || n == 0)
        return;
    if (k == 0) { /* cuBLAS would still scale C by beta, as BLAS does */
        if (beta == 0.0f)
            dn_cuda_note (cudaMemset2DAsync (c, (size_t) ldc * sizeof (float), 0,
                                             (size_t) n * sizeof (float), m, 0),
                          "gemm");
        else if (beta != 1.0f)
            for (int i = 0; i < m; i++)
                note_blas (cublasSscal (ctx.blas, n, &beta, c + (size_t) i * ldc, 1), "gemm");
        return;
    }
    note_blas (cublasSgemm (ctx.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                            trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a, lda,
                            &beta, c, ldc),
               "gemm");
}

__global__ void axpy_kernel (size_t n, float alpha, const float *x, float *y)
{
    DN_CUDA_LOOP (i, n)
    y[i] += alpha * x[i];
}

__global__ void scale_kernel (size_t n, float alpha, float *x)
{
    DN_CUDA_LOOP (i, n)
    x[i] *= alpha;
}

__global__ void add_kernel (size_t n, const float *x0, const float *x1, float *y)
{
    DN_CUDA_LOOP (i, n)
    y[i] = x0[i] + x1[i];
}

__global__ void mul_kernel (size_t n, const float *x, const float *m, float *y)
{
    DN_CUDA_LOOP (i, n)
    y[i] = x[i] * m[i];
}

extern "C" void dn_cuda_axpy (DnBackend *be, size_t n, float alpha, const float *x, float *y)
{
    if (n == 0)
        return;
    axpy_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, alpha, x, y);
    DN_CUDA_LAUNCHED ("axpy");
}

extern "C" void dn_cuda_scale (DnBackend *be, size_t n, float alpha, float *x)
{
    if (n == 0)
        return;
    scale_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, alpha, x);
    DN_CUDA_LAUNCHED ("scale");
}

extern "C" void dn_cuda_add (DnBackend *be, size_t n, const float *x0, const float *x1, float *y)
{
    if (n == 0)
        return;
    add_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, x0, x1, y);
    DN_CUDA_LAUNCHED ("add");
}

extern "C" void dn_cuda_mul (DnBackend *be, size_t n, const float *x, const float *m, float *y)
{
    if (n == 0)
        return;
    mul_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, x, m, y);
    DN_CUDA_LAUNCHED ("mul");
}

/* ---- deterministic sums ---- */

// x is (n); block b sums elements b, b + B, b + 2B, ... (B = gridDim.x * blockDim.x
// interleaved) in a fixed tree, into partials[b]
__global__ void sum_partials_kernel (const float *x, size_t n, double *partials)
{
    __shared__ double sh[DN_CUDA_THREADS];
    double acc = 0.0;
    DN_CUDA_LOOP (i, n)
    acc += x[i];
    double s = dn_block_sum (acc, sh);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = s;
}

// d is (n): out[0] = sum in a fixed tree over one block
__global__ void sum_doubles_kernel (const double *d, size_t n, double *out)
{
    __shared__ double sh[DN_CUDA_THREADS];
    double acc = 0.0;
    for (size_t i = threadIdx.x; i < n; i += blockDim.x)
        acc += d[i];
    double s = dn_block_sum (acc, sh);
    if (threadIdx.x == 0)
        out[0] = s;
}

void dn_cuda_sum_to (const float *x, size_t n, double *out)
{
    unsigned int blocks = dn_cuda_blocks (n);
    if (blocks > REDUCE_BLOCKS)
        blocks = REDUCE_BLOCKS;
    sum_partials_kernel<<<blocks, DN_CUDA_THREADS>>> (x, n, ctx.partials);
    sum_doubles_kernel<<<1, DN_CUDA_THREADS>>> (ctx.partials, blocks, out);
    DN_CUDA_LAUNCHED ("sum");
}

double dn_cuda_sum_doubles (const double *d, size_t n)
{
    double r = 0.0;
    sum_doubles_kernel<<<1, DN_CUDA_THREADS>>> (d, n, ctx.partials + REDUCE_BLOCKS);
    DN_CUDA_LAUNCHED ("sum");
    dn_cuda_note (cudaMemcpy (&r, ctx.partials + REDUCE_BLOCKS, sizeof r, cudaMemcpyDeviceToHost),
                  "sum");
    return r;
}

extern "C" double dn_cuda_sum (DnBackend *be, const float *x, size_t n)
{
    (void) be;
    if (n == 0)
        return 0.0;
    double r = 0.0;
    dn_cuda_sum_to (x, n, ctx.partials + REDUCE_BLOCKS);
    dn_cuda_note (cudaMemcpy (&r, ctx.partials + REDUCE_BLOCKS, sizeof r, cudaMemcpyDeviceToHost),
                  "sum");
    return r;
}

/* ---- bias ---- */

// y is (n, c, spatial), b is (c)
__global__ void bias_add_kernel (size_t total, int c, int spatial, const float *b, float *y)
{
    DN_CUDA_LOOP (i, total)
    y[i] += b[(i / spatial) % c];
}

// dy is (n, c, spatial): one block per channel sums its n * spatial values in a fixed
// order, db[c] += the sum
__global__ void bias_backward_kernel (int n, int c, int spatial, const float *dy, float *db)
{
    __shared__ float sh[DN_CUDA_THREADS];
    const int ch = blockIdx.x;
    const size_t m = (size_t) n * spatial;
    float acc = 0.0f;
    for (size_t e = threadIdx.x; e < m; e += blockDim.x) {
        size_t b = e / spatial, p = e % spatial;
        acc += dy[(b * c + ch) * spatial + p];
    }
    float s = dn_block_sum (acc, sh);
    if (threadIdx.x == 0)
        db[ch] += s;
}

extern "C" void dn_cuda_bias_add (DnBackend *be, int n, int c, int spatial, const float *b,
                                  float *y)
{
    size_t total = (size_t) n * c * spatial;
    if (total == 0)
        return;
    bias_add_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (total, c, spatial, b, y);
    DN_CUDA_LAUNCHED ("bias_add");
}

extern "C" void dn_cuda_bias_backward (DnBackend *be, int n, int c, int spatial, const float *dy,
                                       float *db)
{
    if (c == 0 || n == 0 || spatial == 0)
        return;
    bias_backward_kernel<<<c, DN_CUDA_THREADS>>> (n, c, spatial, dy, db);
    DN_CUDA_LAUNCHED ("bias_backward");
}
