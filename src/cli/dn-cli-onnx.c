/* dn-cli-onnx.c: `dendrite import` and `dendrite export`, ONNX models in and out. */
#include "dn-cli.h"
#include "dn-error.h"
#include "dn-onnx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage (GOptionContext *ctx, const char *cmd, const char *msg)
{
    g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "dendrite %s: %s\n\n%s", cmd, msg, help);
    return 2;
}

static int not_built (const char *cmd)
{
    fprintf (stderr,
             "dendrite %s: this build has no ONNX support; install libprotobuf-c-dev, "
             "protobuf-c-compiler and libonnx-dev (sh tools/install-deps.sh), then run meson "
             "setup --reconfigure and build again\n",
             cmd);
    return 1;
}

/* "MEAN,STD", each a number or per channel numbers joined by ':' ("0.5:0.5:0.5,0.2:0.2:0.2"). */
static gboolean parse_normalize (const char *text, DnNormalize *n)
{
    g_auto (GStrv) halves = g_strsplit (text, ",", -1);
    if (g_strv_length (halves) != 2)
        return FALSE;
    g_auto (GStrv) means = g_strsplit (halves[0], ":", -1);
    g_auto (GStrv) stds = g_strsplit (halves[1], ":", -1);
    guint c = g_strv_length (means);
    if (c < 1 || c > G_N_ELEMENTS (n->mean) || g_strv_length (stds) != c)
        return FALSE;
    n->n_channels = (int) c;
    for (guint i = 0; i < c; i++) {
        char *end1, *end2;
        double m = g_ascii_strtod (means[i], &end1), s = g_ascii_strtod (stds[i], &end2);
        if (*means[i] == '\0' || *end1 != '\0' || *stds[i] == '\0' || *end2 != '\0' ||
            !isfinite (m) || !isfinite (s) || s < 1e-12)
            return FALSE;
        n->mean[i] = (float) m;
        n->std[i] = (float) s;
    }
    return TRUE;
}

int dn_cli_import (int argc, char **argv)
{
    g_autofree char *out = NULL, *normalize = NULL;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Folder for NAME.json and NAME.safetensors",
         "DIR"},
        {"normalize", 0, 0, G_OPTION_ARG_STRING, &normalize,
         "The model's input normalisation (default none); per channel as M1:M2:M3,S1:S2:S3",
         "MEAN,STD"},
        {NULL},
    };
    g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.onnx --out DIR - import an ONNX model");
    g_option_context_set_summary (
        ctx, "Maps an ONNX model's graph onto Dendrite Studio's layers and writes DIR/NAME.json\n"
             "(an experiment with the network) and DIR/NAME.safetensors (a model file with the\n"
             "ONNX initializers as weights) for train, eval and inspect. An operator that no\n"
             "layer computes is an error naming the node; nothing is written then.");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return usage (ctx, "import", error->message);
    if (argc != 2)
        return usage (ctx, "import", argc < 2 ? "give the ONNX model" : "give one ONNX model");
    if (out == NULL)
        return usage (ctx, "import", "give the output folder with --out DIR");
    DnNormalize norm;
    if (normalize != NULL && !parse_normalize (normalize, &norm))
        return usage (ctx, "import",
                      "--normalize takes MEAN,STD (numbers, std > 0), per channel joined by ':'");
    if (!dn_onnx_available ())
        return not_built ("import");
    g_autofree char *json = NULL, *model = NULL;
    if (!dn_onnx_import_to_dir (argv[1], out, normalize != NULL ? &norm : NULL, &json, &model,
                                &error)) {
        fprintf (stderr, "dendrite import: %s\n", error->message);
        return 1;
    }
    printf ("wrote %s\nwrote %s\n", json, model);
    return 0;
}

int dn_cli_export (int argc, char **argv)
{
    g_autofree char *out = NULL;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The ONNX file to write", "MODEL.onnx"},
        {NULL},
    };
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("MODEL.safetensors -o MODEL.onnx - export a model to ONNX");
    g_option_context_set_summary (
        ctx, "Writes a model file's network, with or without dendrites, as standard ONNX\n"
             "operators of opset 17. The input is the raw sample; the model's normalisation\n"
             "runs first (Sub, Div) and is recorded in the metadata with the input shape.");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return usage (ctx, "export", error->message);
    if (argc != 2)
        return usage (ctx, "export", argc < 2 ? "give the model file" : "give one model file");
    if (out == NULL)
        return usage (ctx, "export", "give the file to write with -o MODEL.onnx");
    if (!dn_onnx_available ())
        return not_built ("export");
    if (!dn_onnx_export_model (argv[1], out, &error)) {
        fprintf (stderr, "dendrite export: %s\n", error->message);
        return 1;
    }
    printf ("wrote %s\n", out);
    return 0;
}
