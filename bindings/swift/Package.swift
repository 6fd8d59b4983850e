// swift-tools-version:5.9
// Kstt: Swift bindings over libkstt (streaming speech-to-text for Kyutai's STT models).
// CKstt is a system-library target found through pkg-config (`kstt.pc`, written by
// `cmake --install build --prefix P`: set PKG_CONFIG_PATH=P/lib/pkgconfig). SwiftPM refuses an
// rpath in a .pc file, so at run time give the library's folder with LD_LIBRARY_PATH (Linux),
// DYLD_LIBRARY_PATH, or link with `-Xlinker -rpath -Xlinker P/lib`.
import PackageDescription

let package = Package(
    name: "Kstt",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Kstt", targets: ["Kstt"]),
    ],
    targets: [
        .systemLibrary(
            name: "CKstt",
            path: "Sources/CKstt",
            pkgConfig: "kstt",
            providers: [.brew(["kstt"]), .apt(["libkstt-dev"])]
        ),
        .target(name: "Kstt", dependencies: ["CKstt"]),
        .testTarget(name: "KsttTests", dependencies: ["Kstt"]),
    ]
)
