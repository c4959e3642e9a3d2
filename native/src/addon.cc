// N-API glue only: copies JS options into plain C++ structs (the batons, no V8 values), runs the
// src/av work on the libuv pool, and turns results back into JS values on the JS thread.
// Execute() never calls N-API and never throws: src/av entry points are noexcept and return a
// Failure, which OnOK turns into a rejected promise carrying `code` and `detail`.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "av/capabilities.h"
#include "av/log.h"
#include "av/probe.h"
#include "av/transcode.h"
#include "composition_binding.h"

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

double RequireNumber(const Napi::Object& object, const char* key, double min, double max) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string(key) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max)) {
    throw Napi::RangeError::New(object.Env(), std::string(key) + " must be in [" + std::to_string(min) + ", " +
                                                  std::to_string(max) + "], got " + std::to_string(number));
  }
  return number;
}

bool IsAbsent(const Napi::Value& value) { return value.IsNull() || value.IsUndefined(); }

// Which encoders, muxers, presets and devices a plan may name is decided once, in TypeScript, from
// the media vocabulary (native/lib/plan-check.ts over shared/src/media.ts); FFmpeg refuses names it
// doesn't know. Here a name is only held to what keeps it harmless wherever it goes (an option
// value, part of a file name): short, lower-case letters, digits, '_' and '-'.
std::string RequireName(const Napi::Object& object, const char* key, bool allow_empty = false) {
  std::string value = RequireString(object, key);
  bool ok = (allow_empty || !value.empty()) && value.size() <= 32;
  for (char c : value) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (!ok) throw Napi::RangeError::New(object.Env(), std::string(key) + " is not a name: " + value.substr(0, 40));
  return value;
}

fw::av::VideoSettings ParseVideo(const Napi::Object& v) {
  Napi::Env env = v.Env();
  fw::av::VideoSettings settings;
  settings.encoder = RequireName(v, "encoder");
  settings.hw_device = RequireName(v, "hwDevice", true);
  settings.max_width = RequireInt(v, "maxWidth", 0, 16384);
  settings.max_height = RequireInt(v, "maxHeight", 0, 16384);
  if (IsAbsent(v.Get("crf"))) {
    settings.crf = -1;
    // Animations (gif, libwebp_anim) have neither; the encoder refuses a missing one where it needs it.
    settings.bitrate_kbps = IsAbsent(v.Get("bitrateKbps")) ? 0 : RequireInt(v, "bitrateKbps", 16, 200000);
  } else {
    settings.crf = RequireInt(v, "crf", 0, 63);
  }
  settings.preset = RequireName(v, "preset");
  settings.speed = RequireInt(v, "speed", 0, 8);
  settings.fps_num = RequireInt(v, "fpsNum", 0, 240000);
  settings.fps_den = RequireInt(v, "fpsDen", 1, 1001000);
  Napi::Value crop = v.Get("crop");
  if (crop.IsObject()) {
    Napi::Object c = crop.As<Napi::Object>();
    settings.crop_x = RequireInt(c, "x", 0, 16384);
    settings.crop_y = RequireInt(c, "y", 0, 16384);
    settings.crop_width = RequireInt(c, "width", 2, 16384);
    settings.crop_height = RequireInt(c, "height", 2, 16384);
  } else if (!IsAbsent(crop)) {
    throw Napi::TypeError::New(env, "crop must be an object or null");
  }
  settings.auto_rotate = v.Get("autoRotate").ToBoolean().Value();
  Napi::Value watermark = v.Get("watermark");
  if (watermark.IsObject()) {
    Napi::Object w = watermark.As<Napi::Object>();
    settings.watermark_path = RequireString(w, "imagePath");
    settings.watermark_corner = RequireInt(w, "corner", 0, 4);
    settings.watermark_margin = RequireInt(w, "marginPx", 0, 4096);
    settings.watermark_opacity = RequireNumber(w, "opacity", 0, 1);
    settings.watermark_width_fraction = RequireNumber(w, "widthFraction", 0, 1);
  } else if (!IsAbsent(watermark)) {
    throw Napi::TypeError::New(env, "watermark must be an object or null");
  }
  settings.keyframe_interval_sec = RequireNumber(v, "keyframeIntervalSec", 0, 3600);
  settings.palette = v.Get("palette").ToBoolean().Value();
  settings.quality = IsAbsent(v.Get("quality")) ? -1 : RequireInt(v, "quality", 0, 100);
  settings.stream_index = IsAbsent(v.Get("streamIndex")) ? -1 : RequireInt(v, "streamIndex", 0, 65535);
  Napi::Value subtitles = v.Get("subtitles");
  if (subtitles.IsObject()) {
    Napi::Object burn = subtitles.As<Napi::Object>();
    settings.subtitles_path = RequireString(burn, "assPath");
    settings.fonts_dir = RequireString(burn, "fontsDir");
    if (settings.subtitles_path.empty() || settings.fonts_dir.empty()) {
      throw Napi::RangeError::New(env, "subtitles needs assPath and fontsDir");
    }
  } else if (!IsAbsent(subtitles)) {
    throw Napi::TypeError::New(env, "subtitles must be an object or null");
  }
  return settings;
}

fw::av::AudioSettings ParseAudio(const Napi::Object& a) {
  fw::av::AudioSettings settings;
  if (a.Get("copy").ToBoolean().Value()) {
    settings.copy = true;
    return settings;
  }
  settings.encoder = RequireName(a, "encoder");
  settings.bitrate_kbps = RequireInt(a, "bitrateKbps", 0, 1024);
  settings.channels = RequireInt(a, "channels", 0, 8);
  settings.sample_rate = RequireInt(a, "sampleRate", 0, 192000);
  settings.loudness_target_lufs = RequireNumber(a, "loudnessTargetLufs", -70, 0);
  settings.stream_index = IsAbsent(a.Get("streamIndex")) ? -1 : RequireInt(a, "streamIndex", 0, 65535);
  Napi::Value more = a.Get("moreStreamIndices");
  if (more.IsArray()) {
    Napi::Array indices = more.As<Napi::Array>();
    if (indices.Length() > 64) throw Napi::RangeError::New(a.Env(), "moreStreamIndices: at most 64");
    for (uint32_t i = 0; i < indices.Length(); i++) {
      Napi::Value value = indices.Get(i);
      double index = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
      if (!(index >= 0 && index <= 65535 && index == static_cast<int>(index))) {
        throw Napi::RangeError::New(a.Env(), "moreStreamIndices must hold stream numbers");
      }
      settings.more_streams.push_back(static_cast<int>(index));
    }
    if (settings.stream_index < 0 && !settings.more_streams.empty()) {
      throw Napi::RangeError::New(a.Env(), "moreStreamIndices needs streamIndex");
    }
  } else if (!IsAbsent(more)) {
    throw Napi::TypeError::New(a.Env(), "moreStreamIndices must be an array");
  }
  settings.mix = a.Get("mix").ToBoolean().Value();
  if (settings.mix && settings.more_streams.empty()) {
    throw Napi::RangeError::New(a.Env(), "mix needs streamIndex and moreStreamIndices");
  }
  return settings;
}

// A subtitle track: its codec (a name), tags and cues. Cue text is the track codec's payload the
// caller made from parsed cues; here it is only bounded.
fw::av::SubtitleTrackSettings ParseSubtitleTrack(const Napi::Object& object) {
  Napi::Env env = object.Env();
  fw::av::SubtitleTrackSettings track;
  track.codec = RequireName(object, "codec");
  track.language = RequireName(object, "language", true);
  track.title = RequireString(object, "title");
  if (track.title.size() > 256) throw Napi::RangeError::New(env, "title is too long");
  track.is_default = object.Get("isDefault").ToBoolean().Value();
  Napi::Value cues = object.Get("cues");
  if (!cues.IsArray()) throw Napi::TypeError::New(env, "cues must be an array");
  Napi::Array list = cues.As<Napi::Array>();
  if (list.Length() > 100000) throw Napi::RangeError::New(env, "too many cues");
  double last = 0;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, "cues entries must be objects");
    Napi::Object cue = item.As<Napi::Object>();
    fw::av::SubtitleCue parsed;
    parsed.start_sec = RequireNumber(cue, "startSec", 0, 1e7);
    parsed.end_sec = RequireNumber(cue, "endSec", parsed.start_sec, 1e7);
    parsed.text = RequireString(cue, "text");
    if (parsed.text.size() > 16384) throw Napi::RangeError::New(env, "a cue's text is too long");
    if (parsed.start_sec < last) throw Napi::RangeError::New(env, "cues must be in time order");
    last = parsed.start_sec;
    track.cues.push_back(std::move(parsed));
  }
  return track;
}

fw::av::OutputSettings ParseOutput(const Napi::Object& object) {
  Napi::Env env = object.Env();
  fw::av::OutputSettings output;
  output.path = RequireString(object, "path");
  output.container = RequireName(object, "container");
  output.trim_start = RequireNumber(object, "trimStartSec", 0, 1e7);
  output.trim_end = IsAbsent(object.Get("trimEndSec")) ? -1 : RequireNumber(object, "trimEndSec", 0.001, 1e7);
  output.loop = IsAbsent(object.Get("loop")) ? -1 : (object.Get("loop").ToBoolean().Value() ? 1 : 0);
  if (output.container == "hls") {
    output.hls_segment_sec = RequireNumber(object, "hlsSegmentSec", 0.5, 60);
    output.hls_segment_pattern = RequireString(object, "hlsSegmentPattern");
    if (!IsAbsent(object.Get("hlsSegmentType"))) {
      std::string type = RequireName(object, "hlsSegmentType");
      if (type != "mpegts" && type != "fmp4") throw Napi::RangeError::New(env, "hlsSegmentType must be mpegts or fmp4");
      output.hls_fmp4 = type == "fmp4";
    }
    if (output.hls_fmp4) output.timeline_offset_sec = RequireNumber(object, "timelineOffsetSec", 0, 3600);
  }
  Napi::Value video = object.Get("video");
  if (video.IsObject()) {
    output.video = ParseVideo(video.As<Napi::Object>());
  } else if (!IsAbsent(video)) {
    throw Napi::TypeError::New(env, "video must be an object or null");
  }
  Napi::Value audio = object.Get("audio");
  if (audio.IsObject()) {
    output.audio = ParseAudio(audio.As<Napi::Object>());
  } else if (!IsAbsent(audio)) {
    throw Napi::TypeError::New(env, "audio must be an object or null");
  }
  if (!output.video && !output.audio) throw Napi::RangeError::New(env, "an output needs video or audio");
  Napi::Value tracks = object.Get("subtitleTracks");
  if (tracks.IsArray()) {
    Napi::Array list = tracks.As<Napi::Array>();
    if (list.Length() > 16) throw Napi::RangeError::New(env, "at most 16 subtitle tracks");
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) throw Napi::TypeError::New(env, "subtitleTracks entries must be objects");
      output.subtitle_tracks.push_back(ParseSubtitleTrack(item.As<Napi::Object>()));
    }
    if (!output.subtitle_tracks.empty() && output.container == "hls") {
      throw Napi::RangeError::New(env, "HLS renditions carry no subtitle tracks");
    }
  } else if (!IsAbsent(tracks)) {
    throw Napi::TypeError::New(env, "subtitleTracks must be an array");
  }
  return output;
}

fw::av::ThumbnailSettings ParseThumbnails(const Napi::Object& object) {
  Napi::Env env = object.Env();
  fw::av::ThumbnailSettings settings;
  settings.path_prefix = RequireString(object, "pathPrefix");
  settings.extension = RequireName(object, "extension");
  settings.encoder = RequireName(object, "encoder");
  settings.max_width = RequireInt(object, "maxWidth", 0, 16384);
  settings.max_height = RequireInt(object, "maxHeight", 0, 16384);
  Napi::Value at = object.Get("atSec");
  if (!at.IsArray()) throw Napi::TypeError::New(env, "atSec must be an array");
  Napi::Array times = at.As<Napi::Array>();
  if (times.Length() > 1000) throw Napi::RangeError::New(env, "atSec has too many entries");
  for (uint32_t i = 0; i < times.Length(); i++) {
    Napi::Value t = times.Get(i);
    if (!t.IsNumber() || !(t.As<Napi::Number>().DoubleValue() >= 0)) {
      throw Napi::RangeError::New(env, "atSec entries must be non-negative numbers");
    }
    settings.at_sec.push_back(t.As<Napi::Number>().DoubleValue());
  }
  settings.every_sec = RequireNumber(object, "everySec", 0, 86400);
  settings.count = RequireInt(object, "count", 0, 1000);
  settings.sprite_columns = IsAbsent(object.Get("spriteColumns")) ? 0 : RequireInt(object, "spriteColumns", 0, 100);
  settings.scenes = object.Get("scenes").ToBoolean().Value();
  settings.stream_index =
      IsAbsent(object.Get("streamIndex")) ? -1 : RequireInt(object, "streamIndex", 0, 65535);
  if (settings.scenes) settings.scene_threshold = RequireNumber(object, "sceneThreshold", 0, 100);
  return settings;
}

// Numbers of an analysis: ranges that keep the C++ side sane; what a job may ask is decided in
// TypeScript from the media vocabulary.
double OptionalNumber(const Napi::Object& object, const char* key, double min, double max) {
  return IsAbsent(object.Get(key)) ? 0 : RequireNumber(object, key, min, max);
}

fw::av::AnalysisSettings ParseAnalysis(const Napi::Object& object) {
  fw::av::AnalysisSettings settings;
  settings.kind = RequireName(object, "kind");
  settings.noise_db = OptionalNumber(object, "noiseDb", -200, 0);
  settings.min_duration_sec = OptionalNumber(object, "minDurationSec", 0, 1e6);
  settings.threshold = OptionalNumber(object, "threshold", 0, 100);
  settings.pixel_threshold = OptionalNumber(object, "pixelThreshold", 0, 1);
  settings.picture_ratio = OptionalNumber(object, "pictureRatio", 0, 1);
  settings.min_bpm = OptionalNumber(object, "minBpm", 0, 1000);
  settings.max_bpm = OptionalNumber(object, "maxBpm", 0, 1000);
  settings.audio_sec = OptionalNumber(object, "audioSec", 0, 86400);
  settings.frame_interval_sec = OptionalNumber(object, "frameIntervalSec", 0, 86400);
  settings.points = OptionalNumber(object, "points", 0, 1e6);
  settings.points_per_sec = OptionalNumber(object, "pointsPerSec", 0, 1e4);
  if (settings.kind == "tempo" && !(settings.min_bpm > 0 && settings.max_bpm > settings.min_bpm)) {
    throw Napi::RangeError::New(object.Env(), "minBpm and maxBpm must be positive with minBpm < maxBpm");
  }
  if (settings.kind == "fingerprint" && !(settings.audio_sec > 0 && settings.frame_interval_sec > 0)) {
    throw Napi::RangeError::New(object.Env(), "audioSec and frameIntervalSec must be positive");
  }
  return settings;
}

fw::av::TranscodeSettings ParseTranscode(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object object = value.As<Napi::Object>();
  fw::av::TranscodeSettings settings;
  settings.input_path = RequireString(object, "inputPath");
  if (!IsAbsent(object.Get("stallTimeoutMs"))) {
    settings.stall_timeout_ms = static_cast<int64_t>(RequireNumber(object, "stallTimeoutMs", 0, 86400000));
  }
  Napi::Value outputs = object.Get("outputs");
  if (!outputs.IsArray()) throw Napi::TypeError::New(env, "outputs must be an array");
  Napi::Array array = outputs.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value output = array.Get(i);
    if (!output.IsObject()) throw Napi::TypeError::New(env, "outputs[" + std::to_string(i) + "] must be an object");
    settings.outputs.push_back(ParseOutput(output.As<Napi::Object>()));
  }
  Napi::Value thumbnails = object.Get("thumbnails");
  if (thumbnails.IsArray()) {
    Napi::Array list = thumbnails.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) throw Napi::TypeError::New(env, "thumbnails entries must be objects");
      settings.thumbnails.push_back(ParseThumbnails(item.As<Napi::Object>()));
    }
  } else if (!IsAbsent(thumbnails)) {
    throw Napi::TypeError::New(env, "thumbnails must be an array");
  }
  Napi::Value analyses = object.Get("analyses");
  if (analyses.IsArray()) {
    Napi::Array list = analyses.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) throw Napi::TypeError::New(env, "analyses entries must be objects");
      settings.analyses.push_back(ParseAnalysis(item.As<Napi::Object>()));
    }
  } else if (!IsAbsent(analyses)) {
    throw Napi::TypeError::New(env, "analyses must be an array");
  }
  Napi::Value subtitles = object.Get("subtitles");
  if (subtitles.IsArray()) {
    Napi::Array list = subtitles.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) throw Napi::TypeError::New(env, "subtitles entries must be objects");
      Napi::Object extract = item.As<Napi::Object>();
      fw::av::SubtitleExtractSettings parsed;
      parsed.path = RequireString(extract, "path");
      parsed.stream_index = RequireInt(extract, "streamIndex", 0, 65535);
      settings.subtitles.push_back(std::move(parsed));
    }
  } else if (!IsAbsent(subtitles)) {
    throw Napi::TypeError::New(env, "subtitles must be an array");
  }
  if (settings.outputs.empty() && settings.thumbnails.empty() && settings.analyses.empty() &&
      settings.subtitles.empty()) {
    throw Napi::RangeError::New(env, "a transcode needs at least one output");
  }
  if (settings.outputs.size() + settings.thumbnails.size() + settings.analyses.size() + settings.subtitles.size() >
      64) {
    throw Napi::RangeError::New(env, "at most 64 outputs per transcode");
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
  if (stream.type == "video") object.Set("rotation", stream.rotation);
  if (stream.sample_aspect_ratio > 0) object.Set("sampleAspectRatio", stream.sample_aspect_ratio);
  if (!stream.pixel_format.empty()) object.Set("pixelFormat", stream.pixel_format);
  if (!stream.sample_format.empty()) object.Set("sampleFormat", stream.sample_format);
  if (!stream.profile.empty()) object.Set("profile", stream.profile);
  if (stream.level > 0) object.Set("level", stream.level);
  if (!stream.language.empty()) object.Set("language", stream.language);
  if (!stream.title.empty()) object.Set("title", stream.title);
  object.Set("default", stream.is_default);
  if (!stream.color_transfer.empty()) object.Set("colorTransfer", stream.color_transfer);
  if (!stream.field_order.empty()) object.Set("fieldOrder", stream.field_order);
  if (stream.type == "video") {
    object.Set("alpha", stream.alpha);
    object.Set("attachedPicture", stream.attached_picture);
  }
  if (stream.packets >= 0) {
    object.Set("variableFrameRate", stream.variable_frame_rate);
    object.Set("packets", stream.packets);
  }
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
  object.Set("image", info.image);
  return object;
}

class ProbeWorker : public Napi::AsyncWorker {
 public:
  ProbeWorker(Napi::Env env, std::string path, bool deep)
      : Napi::AsyncWorker(env, "framewire:probe"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        deep_(deep) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { failure_ = fw::av::Probe(path_, &info_, deep_); }

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
  bool deep_;
  fw::av::MediaInfo info_;
  Failure failure_;
};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "probe(path: string, deep?: boolean)");
  bool deep = info.Length() > 1 && info[1].ToBoolean().Value();
  auto* worker = new ProbeWorker(env, info[0].As<Napi::String>().Utf8Value(), deep);
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

// --- transcode -------------------------------------------------------------------------------------

Napi::Array ProgressListToJs(Napi::Env env, const std::vector<fw::av::OutputProgress>& list) {
  Napi::Array array = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) {
    const fw::av::OutputProgress& entry = list[i];
    Napi::Object object = Napi::Object::New(env);
    object.Set("frames", static_cast<double>(entry.frames));
    object.Set("outTimeSec", entry.out_time_sec);
    object.Set("durationSec",
               entry.duration_sec >= 0 ? Napi::Value(Napi::Number::New(env, entry.duration_sec)) : env.Null());
    array.Set(static_cast<uint32_t>(i), object);
  }
  return array;
}

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
    failure_ = fw::av::Transcode(
        settings_, *cancel_, [&progress](const fw::av::Progress& tick) { progress.Send(&tick, 1); }, &result_);
  }

  void OnProgress(const fw::av::Progress* ticks, size_t count) override {
    if (on_progress_.IsEmpty() || ticks == nullptr || count == 0) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const fw::av::Progress& tick = ticks[count - 1];
    Napi::Object object = Napi::Object::New(env);
    object.Set("elapsedSec", tick.elapsed_sec);
    object.Set("outputs", ProgressListToJs(env, tick.outputs));
    object.Set("thumbnails", ProgressListToJs(env, tick.thumbnails));
    object.Set("analyses", ProgressListToJs(env, tick.analyses));
    object.Set("subtitles", ProgressListToJs(env, tick.subtitles));
    try {
      on_progress_.Call({object});
    } catch (const Napi::Error&) {
      // A throwing progress listener must not stop the run; the exception is cleared here.
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.ok()) {
      deferred_.Resolve(ResultToJs(env));
    } else {
      deferred_.Reject(ToJsError(env, failure_).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Object ResultToJs(Napi::Env env) const {
    Napi::Array outputs = Napi::Array::New(env, result_.outputs.size());
    for (size_t i = 0; i < result_.outputs.size(); i++) {
      const fw::av::OutputReport& report = result_.outputs[i];
      Napi::Object object = Napi::Object::New(env);
      if (!report.video_encoder.empty()) object.Set("videoEncoder", report.video_encoder);
      if (report.expected_duration_sec >= 0) object.Set("expectedDurationSec", report.expected_duration_sec);
      object.Set("videoFrames", static_cast<double>(report.video_frames));
      object.Set("expectsVideo", report.expects_video);
      object.Set("expectsAudio", report.expects_audio);
      const fw::av::OutputSettings& settings = settings_.outputs[i];
      if (settings.audio && settings.audio->loudness_target_lufs < 0) {
        object.Set("loudnessInputLufs", report.loudness_input_lufs);
        object.Set("gainDb", report.gain_db);
        object.Set("loudnessOutputLufs", report.loudness_output_lufs);
        object.Set("truePeakDbtp", report.true_peak_dbtp);
        object.Set("limited", report.limited);
      }
      outputs.Set(static_cast<uint32_t>(i), object);
    }
    Napi::Array thumbnails = Napi::Array::New(env, result_.thumbnails.size());
    for (size_t i = 0; i < result_.thumbnails.size(); i++) {
      const fw::av::ThumbnailReport& report = result_.thumbnails[i];
      Napi::Array files = Napi::Array::New(env, report.files.size());
      Napi::Array times = Napi::Array::New(env, report.times_sec.size());
      for (size_t j = 0; j < report.files.size(); j++) files.Set(static_cast<uint32_t>(j), report.files[j]);
      for (size_t j = 0; j < report.times_sec.size(); j++) times.Set(static_cast<uint32_t>(j), report.times_sec[j]);
      Napi::Object object = Napi::Object::New(env);
      object.Set("files", files);
      object.Set("timesSec", times);
      if (!report.sprite.empty()) {
        object.Set("sprite", report.sprite);
        object.Set("tileWidth", report.tile_width);
        object.Set("tileHeight", report.tile_height);
      }
      thumbnails.Set(static_cast<uint32_t>(i), object);
    }
    Napi::Array analyses = Napi::Array::New(env, result_.analyses.size());
    for (size_t i = 0; i < result_.analyses.size() && i < settings_.analyses.size(); i++) {
      analyses.Set(static_cast<uint32_t>(i), AnalysisToJs(env, settings_.analyses[i].kind, result_.analyses[i]));
    }
    Napi::Array subtitles = Napi::Array::New(env, result_.subtitles.size());
    for (size_t i = 0; i < result_.subtitles.size(); i++) {
      Napi::Object object = Napi::Object::New(env);
      object.Set("cues", static_cast<double>(result_.subtitles[i].cues));
      subtitles.Set(static_cast<uint32_t>(i), object);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("outputs", outputs);
    result.Set("thumbnails", thumbnails);
    result.Set("analyses", analyses);
    result.Set("subtitles", subtitles);
    return result;
  }

  static Napi::Array Numbers(Napi::Env env, const std::vector<double>& values) {
    Napi::Array array = Napi::Array::New(env, values.size());
    for (size_t i = 0; i < values.size(); i++) array.Set(static_cast<uint32_t>(i), values[i]);
    return array;
  }

  // Up to 2^22 values: a typed array, copied once.
  static Napi::Float32Array Floats(Napi::Env env, const std::vector<float>& values) {
    Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
    std::copy(values.begin(), values.end(), array.Data());
    return array;
  }

  // Pairs flattened: [time, value, time, value, ...].
  static Napi::Array Pairs(Napi::Env env, const std::vector<fw::av::TimeValue>& values) {
    Napi::Array array = Napi::Array::New(env, values.size() * 2);
    for (size_t i = 0; i < values.size(); i++) {
      array.Set(static_cast<uint32_t>(2 * i), values[i].time_sec);
      array.Set(static_cast<uint32_t>(2 * i + 1), values[i].value);
    }
    return array;
  }

  static Napi::Object AnalysisToJs(Napi::Env env, const std::string& kind, const fw::av::AnalysisReport& r) {
    Napi::Object object = Napi::Object::New(env);
    object.Set("durationSec", r.duration_sec);
    if (!r.reason.empty()) object.Set("reason", r.reason);
    if (kind == "loudness") {
      object.Set("integratedLufs", r.integrated_lufs);
      object.Set("loudnessRangeLu", r.loudness_range_lu);
      object.Set("truePeakDbtp", r.true_peak_dbtp > -1e8 ? Napi::Value(Napi::Number::New(env, r.true_peak_dbtp)) : env.Null());
      object.Set("momentary", Pairs(env, r.momentary));
    } else if (kind == "silence" || kind == "black" || kind == "freeze") {
      std::vector<double> flat;
      for (const fw::av::TimeSpan& span : r.intervals) {
        flat.push_back(span.start_sec);
        flat.push_back(span.end_sec);
      }
      object.Set("intervals", Numbers(env, flat));
    } else if (kind == "scenes") {
      object.Set("cuts", Pairs(env, r.cuts));
      object.Set("frames", static_cast<double>(r.frames));
    } else if (kind == "tempo") {
      object.Set("bpm", r.bpm > 0 ? Napi::Value(Napi::Number::New(env, r.bpm)) : env.Null());
      object.Set("confidence", r.tempo_confidence);
      object.Set("beatsSec", Numbers(env, r.beats_sec));
    } else if (kind == "key") {
      object.Set("tonic", r.tonic);
      object.Set("minor", r.minor);
      object.Set("confidence", r.key_confidence);
      object.Set("chroma", Numbers(env, std::vector<double>(r.chroma.begin(), r.chroma.end())));
    } else if (kind == "fingerprint") {
      object.Set("chromaprint", r.chromaprint.empty() ? env.Null() : Napi::Value(Napi::String::New(env, r.chromaprint)));
      object.Set("chromaprintDurationSec", r.chromaprint_duration_sec);
      Napi::Array hashes = Napi::Array::New(env, r.frame_hashes.size());
      for (size_t i = 0; i < r.frame_hashes.size(); i++) {
        char hex[17];
        snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(r.frame_hashes[i].hash));
        Napi::Object hash = Napi::Object::New(env);
        hash.Set("timeSec", r.frame_hashes[i].time_sec);
        hash.Set("hash", std::string(hex));
        hashes.Set(static_cast<uint32_t>(i), hash);
      }
      object.Set("frameHashes", hashes);
    } else if (kind == "highlights") {
      object.Set("featureStepSec", r.feature_step_sec);
      object.Set("featureLoudness", Numbers(env, r.feature_loudness));
      object.Set("featureRmsDb", Numbers(env, r.feature_rms_db));
      object.Set("featureMotion", Numbers(env, r.feature_motion));
      object.Set("cuts", Pairs(env, r.cuts));
    } else if (kind == "waveform") {
      object.Set("bucketSec", r.bucket_sec);
      object.Set("startSec", r.waveform_start_sec);
      object.Set("sampleRate", r.waveform_sample_rate);
      object.Set("bucketMin", Floats(env, r.bucket_min));
      object.Set("bucketMax", Floats(env, r.bucket_max));
    }
    return object;
  }

  Napi::Promise::Deferred deferred_;
  fw::av::TranscodeSettings settings_;
  fw::av::TranscodeResult result_;
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
    Napi::Array hardware_encoders = Napi::Array::New(env, report_.hardware_encoders.size());
    for (size_t i = 0; i < report_.hardware_encoders.size(); i++) {
      hardware_encoders.Set(static_cast<uint32_t>(i), report_.hardware_encoders[i]);
    }
    Napi::Object hardware_errors = Napi::Object::New(env);
    for (const auto& [device, reason] : report_.hardware_errors) hardware_errors.Set(device, reason);
    Napi::Object result = Napi::Object::New(env);
    result.Set("versions", versions);
    result.Set("encoders", encoders);
    result.Set("hardware", hardware);
    result.Set("hardwareEncoders", hardware_encoders);
    result.Set("hardwareErrors", hardware_errors);
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

// takeLog() -> { lines: [{ at, level, message }], dropped }: the warnings and errors libav logged in
// this process since the last call (see fw::av::TakeLogBatch). Synchronous: it only moves strings.
Napi::Value TakeLog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  fw::av::LogBatch batch = fw::av::TakeLogBatch();
  Napi::Array lines = Napi::Array::New(env, batch.lines.size());
  for (size_t i = 0; i < batch.lines.size(); i++) {
    const fw::av::LogLine& line = batch.lines[i];
    Napi::Object object = Napi::Object::New(env);
    object.Set("at", static_cast<double>(line.at_ms));
    object.Set("level", line.error ? "error" : "warning");
    object.Set("message", line.text);
    lines.Set(static_cast<uint32_t>(i), object);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("lines", lines);
  result.Set("dropped", static_cast<double>(batch.dropped));
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  fw::av::InstallQuietLog();
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("transcode", Napi::Function::New(env, Transcode, "transcode"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("takeLog", Napi::Function::New(env, TakeLog, "takeLog"));
  fw::binding::InitComposition(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(framewire_native, Init)
