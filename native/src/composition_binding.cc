// compose(): copies the JS options once into a plain fw::av::ComposeSettings (no V8 values), runs
// fw::av::Compose on the libuv pool, and hands back the result or a rejection carrying `code`.
#include "composition_binding.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "av/composition.h"

namespace fw::binding {
namespace {

std::string Str(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsString()) throw Napi::TypeError::New(object.Env(), std::string(key) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

double Num(const Napi::Object& object, const char* key, double min, double max) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string(key) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max))
    throw Napi::RangeError::New(object.Env(), std::string(key) + " is out of range");
  return number;
}

bool Bool(const Napi::Object& object, const char* key) { return object.Get(key).ToBoolean().Value(); }

Napi::Array Arr(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsArray()) throw Napi::TypeError::New(object.Env(), std::string(key) + " must be an array");
  return value.As<Napi::Array>();
}

std::vector<std::string> Strings(Napi::Env env, const Napi::Array& array) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value value = array.Get(i);
    if (!value.IsString()) throw Napi::TypeError::New(env, "expected a string");
    out.push_back(value.As<Napi::String>().Utf8Value());
  }
  return out;
}

// Bounds that protect memory and the graph's shape; the values themselves were validated in TS.
constexpr uint32_t kMaxInstances = 256;
constexpr uint32_t kMaxNodes = 20000;
constexpr uint32_t kMaxOptions = 32;

fw::av::ComposeSettings Parse(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw Napi::TypeError::New(env, "compose options must be an object");
  Napi::Object o = value.As<Napi::Object>();
  fw::av::ComposeSettings s;
  Napi::Array instances = Arr(o, "instances");
  if (instances.Length() > kMaxInstances) throw Napi::RangeError::New(env, "too many inputs");
  for (uint32_t i = 0; i < instances.Length(); i++) {
    Napi::Object in = instances.Get(i).As<Napi::Object>();
    fw::av::ComposeInstance instance;
    instance.path = Str(in, "path");
    instance.video = Bool(in, "video");
    instance.audio = Bool(in, "audio");
    instance.seek_sec = Num(in, "seekSec", 0, 1e7);
    instance.end_sec = Num(in, "endSec", -1, 1e7);
    s.instances.push_back(instance);
  }
  Napi::Array nodes = Arr(o, "nodes");
  if (nodes.Length() > kMaxNodes) throw Napi::RangeError::New(env, "too many filters");
  for (uint32_t i = 0; i < nodes.Length(); i++) {
    Napi::Object n = nodes.Get(i).As<Napi::Object>();
    fw::av::ComposeNode node;
    node.id = Str(n, "id");
    node.filter = Str(n, "filter");
    Napi::Array options = Arr(n, "options");
    if (options.Length() > kMaxOptions) throw Napi::RangeError::New(env, "too many options");
    for (uint32_t k = 0; k < options.Length(); k++) {
      std::vector<std::string> pair = Strings(env, options.Get(k).As<Napi::Array>());
      if (pair.size() != 2) throw Napi::TypeError::New(env, "an option is a [key, value] pair");
      node.options.emplace_back(pair[0], pair[1]);
    }
    node.inputs = Strings(env, Arr(n, "inputs"));
    s.nodes.push_back(std::move(node));
  }
  s.video_out = Str(o, "videoOut");
  Napi::Value audio_out = o.Get("audioOut");
  if (audio_out.IsString()) s.audio_out = audio_out.As<Napi::String>().Utf8Value();
  s.path = Str(o, "path");
  s.container = Str(o, "container");
  Napi::Object video = o.Get("video").As<Napi::Object>();
  s.video.encoder = Str(video, "encoder");
  s.video.crf = static_cast<int>(Num(video, "crf", -1, 63));
  s.video.bitrate_kbps = static_cast<int>(Num(video, "bitrateKbps", 0, 200000));
  s.video.preset = Str(video, "preset");
  s.video.speed = static_cast<int>(Num(video, "speed", 0, 8));
  if (!s.audio_out.empty()) {
    Napi::Object audio = o.Get("audio").As<Napi::Object>();
    s.audio.encoder = Str(audio, "encoder");
    s.audio.bitrate_kbps = static_cast<int>(Num(audio, "bitrateKbps", 0, 512));
  }
  s.channels = static_cast<int>(Num(o, "channels", 1, 8));
  s.sample_rate = static_cast<int>(Num(o, "sampleRate", 8000, 192000));
  s.fps_num = static_cast<int>(Num(o, "fpsNum", 1, 1000000));
  s.fps_den = static_cast<int>(Num(o, "fpsDen", 1, 1000000));
  s.duration_sec = Num(o, "durationSec", 0, 1e7);
  s.stall_timeout_ms = static_cast<int64_t>(Num(o, "stallTimeoutMs", 0, 1e10));
  return s;
}

class ComposeWorker : public Napi::AsyncProgressWorker<fw::av::Progress> {
 public:
  ComposeWorker(Napi::Env env, fw::av::ComposeSettings settings, Napi::Function on_progress,
                std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncProgressWorker<fw::av::Progress>(env, "framewire:compose"),
        deferred_(Napi::Promise::Deferred::New(env)),
        settings_(std::move(settings)),
        cancel_(std::move(cancel)) {
    if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    failure_ = fw::av::Compose(
        settings_, *cancel_, [&progress](const fw::av::Progress& tick) { progress.Send(&tick, 1); }, &result_);
  }

  void OnProgress(const fw::av::Progress* ticks, size_t count) override {
    if (on_progress_.IsEmpty() || ticks == nullptr || count == 0) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const fw::av::Progress& tick = ticks[count - 1];
    Napi::Array outputs = Napi::Array::New(env, tick.outputs.size());
    for (size_t i = 0; i < tick.outputs.size(); i++) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("frames", static_cast<double>(tick.outputs[i].frames));
      entry.Set("outTimeSec", tick.outputs[i].out_time_sec);
      entry.Set("durationSec", tick.outputs[i].duration_sec);
      outputs.Set(static_cast<uint32_t>(i), entry);
    }
    Napi::Object object = Napi::Object::New(env);
    object.Set("elapsedSec", tick.elapsed_sec);
    object.Set("outputs", outputs);
    object.Set("thumbnails", Napi::Array::New(env));
    try {
      on_progress_.Call({object});
    } catch (const Napi::Error&) {
      // A throwing progress listener must not stop the run.
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.ok()) {
      Napi::Object result = Napi::Object::New(env);
      result.Set("videoEncoder", result_.video_encoder);
      result.Set("videoSec", result_.video_sec);
      result.Set("frames", static_cast<double>(result_.frames));
      deferred_.Resolve(result);
      return;
    }
    Napi::Error error = Napi::Error::New(env, failure_.message.empty() ? "native engine failure" : failure_.message);
    error.Set("code", Napi::String::New(env, fw::av::ErrorCodeName(failure_.code)));
    if (!failure_.detail.empty()) error.Set("detail", Napi::String::New(env, failure_.detail));
    deferred_.Reject(error.Value());
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  fw::av::ComposeSettings settings_;
  fw::av::ComposeResult result_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::FunctionReference on_progress_;
  fw::av::Failure failure_;
};

Napi::Value Compose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  fw::av::ComposeSettings settings = Parse(info[0]);
  Napi::Function on_progress;
  if (info.Length() > 1 && info[1].IsFunction()) on_progress = info[1].As<Napi::Function>();
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto* worker = new ComposeWorker(env, std::move(settings), on_progress, cancel);
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

}  // namespace

void InitComposition(Napi::Env env, Napi::Object exports) {
  exports.Set("compose", Napi::Function::New(env, Compose, "compose"));
}

}  // namespace fw::binding
