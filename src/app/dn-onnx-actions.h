/* dn-onnx-actions.h: ONNX models in the window: opening one (Open… and drag and drop
 * import it) and "Export as ONNX…" (the shown run's model, written where a file
 * chooser says). */
#pragma once

#include "dn-run-snapshot.h"
#include "dn-window.h"

G_BEGIN_DECLS

/* Whether the file is an ONNX model (by its name). */
gboolean dn_onnx_actions_is_onnx (GFile *file);
/* Imports the model beside itself; returns the experiment file to open. */
GFile *dn_onnx_actions_import (GFile *file, GError **error);

/* "Export as ONNX…": a toast saying why when the run has no model yet; else a file
 * chooser saving NAME.onnx, starting in the runs folder, whose answer goes to
 * dn_onnx_actions_export_to. The chooser is the window's data under
 * DN_ONNX_ACTIONS_CHOOSER until it answers. */
#define DN_ONNX_ACTIONS_CHOOSER "dn-onnx-export-chooser"
void dn_onnx_actions_export (DnWindow *win, DnRunSnapshot *snap, const char *name);
/* Writes the run's model to `path` as ONNX: a toast with the path, or a dialog saying
 * why it could not (a layer ONNX has no operator for, no model yet). */
gboolean dn_onnx_actions_export_to (DnWindow *win, const DnRunSnapshot *snap, const char *path);

G_END_DECLS
