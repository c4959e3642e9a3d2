// N-API glue for compositions: compose(options, onProgress?) -> { promise, cancel() }.
#pragma once

#include <napi.h>

namespace fw::binding {

void InitComposition(Napi::Env env, Napi::Object exports);

}  // namespace fw::binding
