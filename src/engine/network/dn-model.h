/* dn-model.h: model files — a network's weights in safetensors, self-described.
 *
 * Tensors are stored under PyTorch state-dict names ("conv1.weight"), so
 * PyTorch's safetensors.torch.load_file() reads them directly. __metadata__
 * holds "format": "pt", "dendrite_network" (the network JSON), and whatever
 * the caller adds (training state, normalisation). Loading rebuilds the
 * network from the metadata and gives bit-identical predictions.
 */
#pragma once

#include "dn-data.h"
#include "dn-network.h"
#include "dn-optim.h"
#include "dn-safetensors.h"

G_BEGIN_DECLS

/* extra_metadata (char* -> char*) may be NULL. Written atomically. */
gboolean dn_model_save (DnNetwork *net, const char *path, GHashTable *extra_metadata,
                        GError **error);
/* A checkpoint: the model plus the optimizer's state as tensors named
 * "optimizer.<buffer>" (e.g. "optimizer.exp_avg", aligned with the parameter
 * arena) and "optimizer.step". opt may be NULL. */
gboolean dn_model_save_checkpoint (DnNetwork *net, DnOptimizer *opt, const char *path,
                                   GHashTable *extra_metadata, GError **error);
/* The same, the file's sync and rename left running in *pending for the caller to
 * finish with dn_file_commit_finish() (see dn_file_atomic_commit_start()). */
gboolean dn_model_save_checkpoint_pending (DnNetwork *net, DnOptimizer *opt, const char *path,
                                           GHashTable *extra_metadata, DnFileCommit **pending,
                                           GError **error);
/* Restores the optimizer state a checkpoint holds into `opt` (made for the same
 * network); FALSE with an error when the file's state does not fit. */
gboolean dn_model_load_optimizer (DnSafetensors *st, DnOptimizer *opt, const char *what,
                                  GError **error);

/* Builds the network described in the file and loads its weights, after checking
 * the metadata members it knows; weights that are not finite are an error
 * (DN_ERROR_NUMERIC) naming the tensor. *metadata, when
 * not NULL, receives the file's metadata table (unref with g_hash_table_unref). */
DnNetwork *dn_model_load (const char *path, DnBackend *be, GHashTable **metadata, GError **error);

/* The normalisation a model file records ("dendrite_normalize"), checked as the
 * experiment reader checks one, with a channel count that fits net's input.
 * Absent: the identity, and *present (may be NULL) FALSE. */
gboolean dn_model_normalize (GHashTable *metadata, const DnNetwork *net, const char *what,
                             DnNormalize *out, gboolean *present, GError **error);

/* Copies weights by name into an existing network. Names may carry PyTorch's
 * "module." or "_orig_mod." prefixes; "num_batches_tracked" entries are ignored.
 * Every parameter must be present with the right shape; an unknown tensor is an
 * error naming it. Optimizer state ("optimizer.*") is skipped. */
gboolean dn_model_load_weights (DnNetwork *net, DnSafetensors *st, const char *what,
                                GError **error);

G_END_DECLS
