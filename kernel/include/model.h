/* The kfinline model kernel: everything in one include. */
#ifndef KFINLINE_MODEL_H
#define KFINLINE_MODEL_H
#include "model_types.h"
#include "model_uapi.h"
#include "model_skbuff.h"
#include "model_xdp.h"
#include "model_bpf.h"
#include "model_protos.h"
#endif
