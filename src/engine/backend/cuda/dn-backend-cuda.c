/* dn-backend-cuda.c: the CUDA backend's table, and choosing a device.
 *
 * The ops are the dn_cuda_* functions of the dn-cuda-<family>.cu files (see
 * dn-backend-cuda-private.h). One device per process: the first call of
 * dn_backend_cuda_device opens it, later calls with the same index get the same table.
 */
#include "dn-backend-cuda-private.h"
#include "dn-error.h"

static DnBackend cuda_backend = {
    .name = "cuda",
    .host_memory = FALSE,
    .memory_info = dn_cuda_memory_info,
    .alloc = dn_cuda_alloc,
    .free = dn_cuda_free,
    .upload = dn_cuda_upload,
    .download = dn_cuda_download,
    .zero = dn_cuda_zero,
    .copy = dn_cuda_copy,
    .synchronize = dn_cuda_synchronize,
    .gemm = dn_cuda_gemm,
    .axpy = dn_cuda_axpy,
    .scale = dn_cuda_scale,
    .add = dn_cuda_add,
    .mul = dn_cuda_mul,
    .sum = dn_cuda_sum,
    .im2col = dn_cuda_im2col,
    .col2im = dn_cuda_col2im,
    .transpose_outer = dn_cuda_transpose_outer,
    .conv2d_workspace = dn_cuda_conv2d_workspace,
    .conv2d_forward = dn_cuda_conv2d_forward,
    .conv2d_backward = dn_cuda_conv2d_backward,
    .dendrite_forward = dn_cuda_dendrite_forward,
    .dendrite_backward = dn_cuda_dendrite_backward,
    .bias_add = dn_cuda_bias_add,
    .bias_backward = dn_cuda_bias_backward,
    .act_forward = dn_cuda_act_forward,
    .act_backward = dn_cuda_act_backward,
    .maxpool2d_forward = dn_cuda_maxpool2d_forward,
    .maxpool2d_backward = dn_cuda_maxpool2d_backward,
    .avgpool2d_forward = dn_cuda_avgpool2d_forward,
    .avgpool2d_backward = dn_cuda_avgpool2d_backward,
    .batchnorm_forward_train = dn_cuda_batchnorm_forward_train,
    .batchnorm_forward_eval = dn_cuda_batchnorm_forward_eval,
    .batchnorm_backward = dn_cuda_batchnorm_backward,
    .layernorm_forward = dn_cuda_layernorm_forward,
    .layernorm_backward = dn_cuda_layernorm_backward,
    .softmax_forward = dn_cuda_softmax_forward,
    .softmax_backward = dn_cuda_softmax_backward,
    .dropout_forward = dn_cuda_dropout_forward,
    .dropout_backward = dn_cuda_dropout_backward,
    .segment_select = dn_cuda_segment_select,
    .gate_forward = dn_cuda_gate_forward,
    .gate_backward = dn_cuda_gate_backward,
    .segment_grad = dn_cuda_segment_grad,
    .segment_rows = dn_cuda_segment_rows,
    .kwta_forward = dn_cuda_kwta_forward,
    .kwta_backward = dn_cuda_kwta_backward,
    .count_nonzero = dn_cuda_count_nonzero,
    .sparse_rows_gemm = dn_cuda_sparse_rows_gemm,
    .sparse_gemm_nt = dn_cuda_sparse_gemm_nt,
    .sparse_outer = dn_cuda_sparse_outer,
    .cross_entropy = dn_cuda_cross_entropy,
    .nll = dn_cuda_nll,
    .mse = dn_cuda_mse,
    .bce_logits = dn_cuda_bce_logits,
    .one_hot = dn_cuda_one_hot,
    .count_correct = dn_cuda_count_correct,
    .sgd_update = dn_cuda_sgd_update,
    .adam_update = dn_cuda_adam_update,
    .adadelta_update = dn_cuda_adadelta_update,
    .rmsprop_update = dn_cuda_rmsprop_update,
};

DnBackend *dn_backend_cuda_device (int index, GError **error)
{
    char msg[256];
    if (dn_cuda_open (index, msg, sizeof msg) != 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED, "%s; use --device cpu", msg);
        return NULL;
    }
    return &cuda_backend;
}

DnBackend *dn_backend_cuda (GError **error)
{
    return dn_backend_cuda_device (0, error);
}

const char *dn_backend_take_error (DnBackend *be)
{
    return be == &cuda_backend ? dn_cuda_take_error () : NULL;
}
