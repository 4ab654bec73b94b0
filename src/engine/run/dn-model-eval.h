/* dn-model-eval.h: a model file scored on a dataset, as `dendrite eval` and the
 * app score it.
 *
 * The model is read with dn_model_load; its normalisation ("dendrite_normalize")
 * and loss ("dendrite_training") are the ones applied, its stored class list
 * ("dendrite_classes") numbers the labels of a CSV file. Data whose samples do not
 * hold as many values as the model's input, or with more classes than the model
 * gives outputs, is an error naming both shapes. A continual model (scored per
 * task by dn_continual_evaluate) is refused. Runs on any thread; nothing is shared.
 */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

typedef struct {
    double accuracy; /* percent */
    double loss;     /* mean */
    int samples;
    DnConfusion *confusion; /* n_classes the larger of outputs and data classes */
    char **class_names;     /* the data's, NULL-terminated, or NULL */
    char *data_source;      /* what was read, for messages */
    gboolean normalized;    /* FALSE: the model records no normalisation; none applied */
} DnModelEvaluation;

void dn_model_evaluation_free (DnModelEvaluation *e);

/* Evaluation data for a model: an IDX folder's "test" files or a CSV file read
 * through the model's stored classes (when it has them). */
DnDataset *dn_model_load_eval_data (const char *path, GHashTable *metadata, GError **error);
/* The loss a model was trained with; cross-entropy when the file names none. */
DnLossKind dn_model_loss_kind (GHashTable *metadata);
/* Whether data fits the model (input values per sample, classes against outputs);
 * FALSE with an error naming the model (what), the data and both shapes. */
gboolean dn_model_check_data (DnNetwork *net, const DnDataset *data, const char *what,
                              GError **error);

/* The model scored on a file or folder as dn_model_load_eval_data reads it. */
DnModelEvaluation *dn_model_evaluate_file (const char *model_path, const char *data_path,
                                           int batch_size, GError **error);
/* The model scored on the test split of an experiment's data, drawn as a run of exp
 * draws it (exp->seed). An experiment without a test split is an error. */
DnModelEvaluation *dn_model_evaluate_experiment (const char *model_path, DnExperiment *exp,
                                                 int batch_size, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnModelEvaluation, dn_model_evaluation_free)

G_END_DECLS
