{
  # Build: npm run build -w native   (node-gyp rebuild --nodedir=/usr -j 2)
  # AddressSanitizer build (not named "asan": Node's own config.gypi sets that variable and wins):
  # `npm run test:asan` (native/scripts/asan-check.sh) builds one with -Dframewire_asan=1 into
  # native/build-asan/ and runs it under LD_PRELOAD=libasan with leak detection on; the only LSan
  # suppressions are third-party ones, in native/scripts/lsan.supp.
  "variables": {
    "framewire_asan%": 0
  },
  "targets": [
    {
      "target_name": "framewire_native",
      "sources": [
        "src/addon.cc",
        "src/composition_binding.cc",
        "src/av/analysis/analyses.cc",
        "src/av/analysis/fingerprint.cc",
        "src/av/analysis/key.cc",
        "src/av/analysis/meters.cc",
        "src/av/analysis/mono.cc",
        "src/av/analysis/onset.cc",
        "src/av/analysis/spectrum.cc",
        "src/av/analysis/tempo.cc",
        "src/av/capabilities.cc",
        "src/av/composition.cc",
        "src/av/decoder.cc",
        "src/av/encoder.cc",
        "src/av/filter_graph.cc",
        "src/av/frame_worker.cc",
        "src/av/input_file.cc",
        "src/av/limiter.cc",
        "src/av/log.cc",
        "src/av/loudness.cc",
        "src/av/output_file.cc",
        "src/av/palette_mapper.cc",
        "src/av/probe.cc",
        "src/av/status.cc",
        "src/av/still_image.cc",
        "src/av/subtitles.cc",
        "src/av/thumbnails.cc",
        "src/av/timeline.cc",
        "src/av/transcode.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-Werror",
        "<!@(pkg-config --cflags libavformat libavcodec libavfilter libswscale libswresample libavutil)"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions"
      ],
      "cflags_cc!": [
        "-std=gnu++17",
        "-fno-exceptions",
        "-fno-rtti"
      ],
      "libraries": [
        "<!@(pkg-config --libs libavformat libavcodec libavfilter libswscale libswresample libavutil)"
      ],
      "conditions": [
        [
          "framewire_asan==1",
          {
            "cflags": [
              "-fsanitize=address",
              "-fno-omit-frame-pointer",
              "-g"
            ],
            "ldflags": [
              "-fsanitize=address"
            ]
          }
        ]
      ]
    }
  ]
}
