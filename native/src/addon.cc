// N-API glue only: copies JS options into plain C++ structs (the batons, no V8 values), runs the
// src/av work on the libuv pool, and turns results back into JS values on the JS thread.
// Execute() never calls N-API and never throws: src/av entry points are noexcept and return a
// Failure, which OnOK turns into a rejected promise carrying `code` and `detail`.
#include <napi.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "av/capabilities.h"
#include "av/log.h"
#include "av/probe.h"
#include "av/transcode.h"

namespace {

using fw::av::ErrorCode;
using fw::av::Failure;

Napi::Error ToJsError(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message.empty() ? "native engine failure" : failure.message);
  error.Set("code", Napi::String::New(env, fw::av::ErrorCodeName(failure.code)));
  if (!failure.detail.empty()) error.Set("detail", Napi::String::New(env, failure.detail));
  return error;
}

// --- option parsing (JS thread) -------------------------------------------------------------------

std::string RequireString(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsString()) throw Napi::TypeError::New(object.Env(), std::string(key) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

int RequireInt(const Napi::Object& object, const char* key, int min, int max) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string(key) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max) || number != static_cast<double>(static_cast<int>(number))) {
    throw Napi::RangeError::New(object.Env(), std::string(key) + " must be an integer in [" + std::to_string(min) +
                                                  ", " + std::to_string(max) + "], got " + std::to_string(number));
  }
  return static_cast<int>(number);
}

fw::av::OutputSettings ParseOutput(const Napi::Object& object) {
  static const std::set<std::string> kPresets = {"ultrafast", "superfast", "veryfast", "faster",  "fast",
                                                 "medium",    "slow",      "slower",   "veryslow"};
  Napi::Env env = object.Env();
  fw::av::OutputSettings output;
  output.path = RequireString(object, "path");
  output.container = RequireString(object, "container");
  if (output.container != "mp4") throw Napi::RangeError::New(env, "container must be mp4");
  Napi::Value video = object.Get("video");
  if (video.IsObject()) {
    Napi::Object v = video.As<Napi::Object>();
    if (RequireString(v, "codec") != "h264") throw Napi::RangeError::New(env, "video.codec must be h264");
    fw::av::VideoSettings settings;
    settings.height = RequireInt(v, "height", 2, 8640);
    if (settings.height % 2 != 0) throw Napi::RangeError::New(env, "video.height must be even");
    settings.crf = RequireInt(v, "crf", 0, 51);
    settings.preset = RequireString(v, "preset");
    if (kPresets.count(settings.preset) == 0) throw Napi::RangeError::New(env, "video.preset is not an x264 preset");
    output.video = settings;
  } else if (!video.IsNull() && !video.IsUndefined()) {
    throw Napi::TypeError::New(env, "video must be an object or null");
  }
  Napi::Value audio = object.Get("audio");
  if (audio.IsObject()) {
    Napi::Object a = audio.As<Napi::Object>();
    if (RequireString(a, "codec") != "aac") throw Napi::RangeError::New(env, "audio.codec must be aac");
    fw::av::AudioSettings settings;
    settings.bitrate_kbps = RequireInt(a, "bitrateKbps", 8, 1024);
    output.audio = settings;
  } else if (!audio.IsNull() && !audio.IsUndefined()) {
    throw Napi::TypeError::New(env, "audio must be an object or null");
  }
  return output;
}

fw::av::TranscodeSettings ParseTranscode(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object object = value.As<Napi::Object>();
  fw::av::TranscodeSettings settings;
  settings.input_path = RequireString(object, "inputPath");
  Napi::Value outputs = object.Get("outputs");
  if (!outputs.IsArray()) throw Napi::TypeError::New(env, "outputs must be an array");
  Napi::Array array = outputs.As<Napi::Array>();
  if (array.Length() == 0) throw Napi::RangeError::New(env, "outputs must not be empty");
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value output = array.Get(i);
    if (!output.IsObject()) throw Napi::TypeError::New(env, "outputs[" + std::to_string(i) + "] must be an object");
    settings.outputs.push_back(ParseOutput(output.As<Napi::Object>()));
  }
  return settings;
}

// --- probe -----------------------------------------------------------------------------------------

Napi::Object StreamToJs(Napi::Env env, const fw::av::StreamInfo& stream) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("index", stream.index);
  object.Set("type", stream.type);
  object.Set("codec", stream.codec);
  if (stream.width > 0) object.Set("width", stream.width);
  if (stream.height > 0) object.Set("height", stream.height);
  if (stream.fps > 0) object.Set("fps", stream.fps);
  if (stream.sample_rate > 0) object.Set("sampleRate", stream.sample_rate);
  if (stream.channels > 0) object.Set("channels", stream.channels);
  if (stream.bit_rate > 0) object.Set("bitRate", static_cast<double>(stream.bit_rate));
  if (stream.duration_sec >= 0) object.Set("durationSec", stream.duration_sec);
  return object;
}

Napi::Object MediaToJs(Napi::Env env, const fw::av::MediaInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("formatName", info.format_name);
  object.Set("durationSec", info.duration_sec >= 0 ? Napi::Value(Napi::Number::New(env, info.duration_sec)) : env.Null());
  object.Set("bitRate", info.bit_rate > 0 ? Napi::Value(Napi::Number::New(env, static_cast<double>(info.bit_rate)))
                                          : env.Null());
  object.Set("sizeBytes", static_cast<double>(info.size_bytes));
  Napi::Array streams = Napi::Array::New(env, info.streams.size());
  for (size_t i = 0; i < info.streams.size(); i++) streams.Set(static_cast<uint32_t>(i), StreamToJs(env, info.streams[i]));
  object.Set("streams", streams);
  return object;
}

class ProbeWorker : public Napi::AsyncWorker {
 public:
  ProbeWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env, "framewire:probe"), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { failure_ = fw::av::Probe(path_, &info_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.ok()) {
      deferred_.Resolve(MediaToJs(env, info_));
    } else {
      deferred_.Reject(ToJsError(env, failure_).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  fw::av::MediaInfo info_;
  Failure failure_;
};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "probe(path: string)");
  auto* worker = new ProbeWorker(env, info[0].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

// --- transcode -------------------------------------------------------------------------------------

// AsyncProgressWorker keeps only the latest tick when the JS thread is slower than the worker:
// progress is latest-state, so dropping intermediate ticks is correct. node-addon-api delivers any
// pending tick before OnOK runs.
class TranscodeWorker : public Napi::AsyncProgressWorker<fw::av::Progress> {
 public:
  TranscodeWorker(Napi::Env env, fw::av::TranscodeSettings settings, Napi::Function on_progress,
                  std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncProgressWorker<fw::av::Progress>(env, "framewire:transcode"),
        deferred_(Napi::Promise::Deferred::New(env)),
        settings_(std::move(settings)),
        cancel_(std::move(cancel)) {
    if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    failure_ = fw::av::Transcode(settings_, *cancel_, [&progress](const fw::av::Progress& tick) {
      progress.Send(&tick, 1);
    });
  }

  void OnProgress(const fw::av::Progress* ticks, size_t count) override {
    if (on_progress_.IsEmpty() || ticks == nullptr || count == 0) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const fw::av::Progress& tick = ticks[count - 1];
    Napi::Object object = Napi::Object::New(env);
    object.Set("frames", static_cast<double>(tick.frames));
    object.Set("outTimeSec", tick.out_time_sec);
    object.Set("durationSec", tick.duration_sec >= 0 ? Napi::Value(Napi::Number::New(env, tick.duration_sec)) : env.Null());
    object.Set("fps", tick.fps);
    object.Set("speed", tick.speed);
    try {
      on_progress_.Call({object});
    } catch (const Napi::Error&) {
      // A throwing progress listener must not stop the run; the exception is cleared here.
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.ok()) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(ToJsError(env, failure_).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  fw::av::TranscodeSettings settings_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::FunctionReference on_progress_;
  Failure failure_;
};

// transcode(options, onProgress?) -> { promise, cancel() }
Napi::Value Transcode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  fw::av::TranscodeSettings settings = ParseTranscode(info[0]);
  Napi::Function on_progress;
  if (info.Length() > 1 && info[1].IsFunction()) {
    on_progress = info[1].As<Napi::Function>();
  } else if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    throw Napi::TypeError::New(env, "onProgress must be a function");
  }
  // Shared by the worker (polled on the pool thread) and the cancel closure (set on the JS
  // thread); whichever is released last frees it.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto* worker = new TranscodeWorker(env, std::move(settings), on_progress, cancel);
  Napi::Object job = Napi::Object::New(env);
  job.Set("promise", worker->Promise());
  job.Set("cancel", Napi::Function::New(
                        env,
                        [cancel](const Napi::CallbackInfo& call) {
                          cancel->store(true);
                          return call.Env().Undefined();
                        },
                        "cancel"));
  worker->Queue();
  return job;
}

// --- capabilities ----------------------------------------------------------------------------------

class CapabilitiesWorker : public Napi::AsyncWorker {
 public:
  explicit CapabilitiesWorker(Napi::Env env)
      : Napi::AsyncWorker(env, "framewire:capabilities"), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { report_ = fw::av::ProbeCapabilities(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object versions = Napi::Object::New(env);
    for (const auto& [name, version] : report_.versions) versions.Set(name, version);
    Napi::Array encoders = Napi::Array::New(env, report_.encoders.size());
    for (size_t i = 0; i < report_.encoders.size(); i++) encoders.Set(static_cast<uint32_t>(i), report_.encoders[i]);
    Napi::Array hardware = Napi::Array::New(env, report_.hardware.size());
    for (size_t i = 0; i < report_.hardware.size(); i++) hardware.Set(static_cast<uint32_t>(i), report_.hardware[i]);
    Napi::Object result = Napi::Object::New(env);
    result.Set("versions", versions);
    result.Set("encoders", encoders);
    result.Set("hardware", hardware);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  fw::av::CapabilityReport report_;
};

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  auto* worker = new CapabilitiesWorker(info.Env());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  fw::av::InstallQuietLog();
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("transcode", Napi::Function::New(env, Transcode, "transcode"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  return exports;
}

}  // namespace

NODE_API_MODULE(framewire_native, Init)
