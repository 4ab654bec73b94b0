/* dn-onnx-actions.h: ONNX models opened in the window. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether the file is an ONNX model (by its name). */
gboolean dn_onnx_actions_is_onnx (GFile *file);
/* Imports the model beside itself; returns the experiment file to open. */
GFile *dn_onnx_actions_import (GFile *file, GError **error);

G_END_DECLS
