/* dn-cuda-device.h: CUDA device discovery, with a plain C ABI (no GLib). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (0 when there is no driver or device). */
int dn_cuda_device_count (void);
/* Name and memory of device i; returns 0 on success. */
int dn_cuda_device_info (int i, char *name, int name_len, unsigned long long *total_mem);
/* The last CUDA error as text (static storage). */
const char *dn_cuda_last_error (void);

#ifdef __cplusplus
}
#endif
