/* dn-layer-catalog.c: the editor's layer kinds; ranges and defaults as in
 * the engine's configure functions (src/engine/layers/dn-layer-*.c) and
 * docs/layers.md. */
#include "dn-layer-catalog.h"

#include <glib/gi18n.h>

#define BIG_CH (1 << 20)
#define BIG_F (1 << 28)

static const DnSettingSpec linear_settings[] = {
    {"in_features", N_ ("Input features"), DN_SETTING_INT, 1, BIG_F, 0, TRUE, 0},
    {"out_features", N_ ("Output features"), DN_SETTING_INT, 1, BIG_F, 10, FALSE, 0},
    {"bias", N_ ("Bias"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
};

static const DnSettingSpec conv_settings[] = {
    {"in_channels", N_ ("Input channels"), DN_SETTING_INT, 1, BIG_CH, 0, TRUE, 0},
    {"out_channels", N_ ("Output channels"), DN_SETTING_INT, 1, BIG_CH, 16, FALSE, 0},
    {"kernel_size", N_ ("Kernel size"), DN_SETTING_INT_PAIR, 1, 4096, 3, FALSE, 0},
    {"stride", N_ ("Stride"), DN_SETTING_INT_PAIR, 1, 4096, 1, FALSE, 0},
    {"padding", N_ ("Padding"), DN_SETTING_INT_PAIR, 0, 4096, 0, FALSE, 0},
    {"dilation", N_ ("Dilation"), DN_SETTING_INT_PAIR, 1, 4096, 1, FALSE, 0},
    {"groups", N_ ("Groups"), DN_SETTING_INT, 1, BIG_CH, 1, FALSE, 0},
    {"bias", N_ ("Bias"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
};

static const DnSettingSpec maxpool_settings[] = {
    {"kernel_size", N_ ("Kernel size"), DN_SETTING_INT_PAIR, 1, 1 << 16, 2, FALSE, 0},
    {"stride", N_ ("Stride (default: the kernel size)"), DN_SETTING_INT_PAIR, 1, 1 << 16, 0, TRUE,
     0},
    {"padding", N_ ("Padding"), DN_SETTING_INT_PAIR, 0, 1 << 16, 0, FALSE, 0},
    {"dilation", N_ ("Dilation"), DN_SETTING_INT_PAIR, 1, 1 << 16, 1, FALSE, 0},
};

static const DnSettingSpec avgpool_settings[] = {
    {"kernel_size", N_ ("Kernel size"), DN_SETTING_INT_PAIR, 1, 1 << 16, 2, FALSE, 0},
    {"stride", N_ ("Stride (default: the kernel size)"), DN_SETTING_INT_PAIR, 1, 1 << 16, 0, TRUE,
     0},
    {"padding", N_ ("Padding"), DN_SETTING_INT_PAIR, 0, 1 << 16, 0, FALSE, 0},
    {"count_include_pad", N_ ("Count padding in the average"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
};

static const DnSettingSpec batchnorm_settings[] = {
    {"num_features", N_ ("Features"), DN_SETTING_INT, 1, 1 << 24, 0, TRUE, 0},
    {"eps", N_ ("Epsilon"), DN_SETTING_DOUBLE, 0, 1, 1e-5, FALSE, 6},
    {"momentum", N_ ("Momentum"), DN_SETTING_DOUBLE, 0, 1, 0.1, FALSE, 3},
    {"affine", N_ ("Learnable scale and shift"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
    {"track_running_stats", N_ ("Track running statistics"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
};

static const DnSettingSpec layernorm_settings[] = {
    {"eps", N_ ("Epsilon"), DN_SETTING_DOUBLE, 0, 1, 1e-5, FALSE, 6},
    {"elementwise_affine", N_ ("Learnable scale and shift"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
};

static const DnSettingSpec dropout_settings[] = {
    {"p", N_ ("Drop probability"), DN_SETTING_DOUBLE, 0, 0.99, 0.5, FALSE, 2},
};

static const DnSettingSpec leaky_settings[] = {
    {"negative_slope", N_ ("Negative slope"), DN_SETTING_DOUBLE, -1e6, 1e6, 0.01, FALSE, 3},
};

/* Numenta's Active Dendrites layers (docs/continual.md, docs/layers.md) */
static const DnSettingSpec sparse_linear_settings[] = {
    {"in_features", N_ ("Input features"), DN_SETTING_INT, 1, BIG_F, 0, TRUE, 0},
    {"out_features", N_ ("Output features"), DN_SETTING_INT, 1, BIG_F, 10, FALSE, 0},
    {"bias", N_ ("Bias"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
    {"weight_sparsity", N_ ("Weight sparsity (fraction fixed at zero)"), DN_SETTING_DOUBLE, 0,
     0.999, 0, FALSE, 3},
    {"input_density", N_ ("Input density (for the initialisation)"), DN_SETTING_DOUBLE, 0.001, 1, 1,
     FALSE, 3},
};

static const char *const gatings[] = {"abs_max", "max", "additive", NULL};
static const char *const gating_titles[] = {N_ ("Largest absolute response, sigmoid gate"),
                                            N_ ("Largest response, sigmoid gate"),
                                            N_ ("Largest response, added"), NULL};

/* sparse_linear's settings, then the segments' */
static const DnSettingSpec active_dendrite_settings[] = {
    {"in_features", N_ ("Input features"), DN_SETTING_INT, 1, BIG_F, 0, TRUE, 0},
    {"out_features", N_ ("Output features"), DN_SETTING_INT, 1, BIG_F, 10, FALSE, 0},
    {"bias", N_ ("Bias"), DN_SETTING_BOOL, 0, 1, 1, FALSE, 0},
    {"weight_sparsity", N_ ("Weight sparsity (fraction fixed at zero)"), DN_SETTING_DOUBLE, 0,
     0.999, 0, FALSE, 3},
    {"input_density", N_ ("Input density (for the initialisation)"), DN_SETTING_DOUBLE, 0.001, 1, 1,
     FALSE, 3},
    {"segments", N_ ("Segments per unit"), DN_SETTING_INT, 0, 4096, 0, FALSE, 0},
    /* required with segments; 784 is an MNIST image, the prototype context */
    {"context_dim", N_ ("Context length"), DN_SETTING_INT, 1, 1 << 20, 784, FALSE, 0},
    {"context_density", N_ ("Context density (for the initialisation)"), DN_SETTING_DOUBLE, 0.001,
     1, 1, FALSE, 3},
    {"gating", N_ ("Gating"), DN_SETTING_CHOICE, 0, 0, 0, FALSE, 0, gatings, gating_titles},
};

static const DnSettingSpec kwta_settings[] = {
    {"percent_on", N_ ("Fraction of units kept"), DN_SETTING_DOUBLE, 0.001, 1, 0.05, FALSE, 3},
};

#define S(a) a, G_N_ELEMENTS (a)

static const DnLayerKind kinds[] = {
    {"linear", "Linear", N_ ("Fully connected: every output sees every input"), TRUE, 1,
     S (linear_settings), "{\"out_features\": 10}"},
    {"conv2d", "Conv2d", N_ ("2-D convolution over images"), TRUE, 1, S (conv_settings),
     "{\"out_channels\": 16, \"kernel_size\": 3}"},
    {"conv1d", "Conv1d", N_ ("1-D convolution over sequences"), TRUE, 1, S (conv_settings),
     "{\"out_channels\": 16, \"kernel_size\": 3}"},
    {"batchnorm2d", "BatchNorm2d", N_ ("Normalises each channel of an image over the batch"), FALSE,
     1, S (batchnorm_settings), "{}"},
    {"batchnorm1d", "BatchNorm1d", N_ ("Normalises each feature over the batch"), FALSE, 1,
     S (batchnorm_settings), "{}"},
    {"layernorm", "LayerNorm", N_ ("Normalises each sample over its features"), FALSE, 1,
     S (layernorm_settings), "{}"},
    {"relu", "ReLU", N_ ("max(0, x)"), FALSE, 1, NULL, 0, "{}"},
    {"leaky_relu", "LeakyReLU", N_ ("ReLU with a small slope below zero"), FALSE, 1,
     S (leaky_settings), "{}"},
    {"gelu", "GELU", N_ ("Gaussian error linear unit"), FALSE, 1, NULL, 0, "{}"},
    {"sigmoid", "Sigmoid", N_ ("1 / (1 + e^-x)"), FALSE, 1, NULL, 0, "{}"},
    {"tanh", "Tanh", N_ ("Hyperbolic tangent"), FALSE, 1, NULL, 0, "{}"},
    {"maxpool2d", "MaxPool2d", N_ ("The largest value of each window"), FALSE, 1,
     S (maxpool_settings), "{\"kernel_size\": 2}"},
    {"avgpool2d", "AvgPool2d", N_ ("The mean of each window"), FALSE, 1, S (avgpool_settings),
     "{\"kernel_size\": 2}"},
    {"adaptive_avgpool2d", "AdaptiveAvgPool2d", N_ ("The mean of each channel (global pooling)"),
     FALSE, 1, NULL, 0, "{\"output_size\": 1}"},
    {"dropout", "Dropout", N_ ("Zeroes random values while training"), FALSE, 1,
     S (dropout_settings), "{\"p\": 0.5}"},
    {"flatten", "Flatten", N_ ("Turns an image into a vector"), FALSE, 1, NULL, 0, "{}"},
    {"softmax", "Softmax", N_ ("Probabilities over the classes"), FALSE, 1, NULL, 0, "{}"},
    {"log_softmax", "LogSoftmax", N_ ("Log-probabilities (for the NLL loss)"), FALSE, 1, NULL, 0,
     "{}"},
    {"add", "Add", N_ ("Sum of two or more layers (residual connection)"), FALSE, 2, NULL, 0, "{}"},
    {"concat", "Concat", N_ ("Joins two or more layers along the channels"), FALSE, 2, NULL, 0,
     "{}"},
    {"sparse_linear", "SparseLinear",
     N_ ("Linear layer whose weights are partly fixed at zero (Active Dendrites networks)"), FALSE,
     1, S (sparse_linear_settings), "{\"out_features\": 10, \"weight_sparsity\": 0.5}"},
    {"active_dendrite", "ActiveDendrite",
     N_ ("Sparse linear layer whose units are gated by dendritic segments reading the task "
         "context"),
     FALSE, 1, S (active_dendrite_settings),
     "{\"out_features\": 256, \"weight_sparsity\": 0.5, \"segments\": 10, \"context_dim\": 784, "
     "\"context_density\": 0.1}"},
    {"kwta", "KWinners", N_ ("Keeps the largest values of each sample, zeroes the rest (k-WTA)"),
     FALSE, 1, S (kwta_settings), "{\"percent_on\": 0.05}"},
};

const DnLayerKind *dn_layer_catalog (int *n)
{
    *n = G_N_ELEMENTS (kinds);
    return kinds;
}

const DnLayerKind *dn_layer_catalog_lookup (const char *type)
{
    if (type == NULL)
        return NULL;
    for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        if (g_ascii_strcasecmp (kinds[i].type, type) == 0)
            return &kinds[i];
    return NULL;
}
