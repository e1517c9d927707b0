// SPDX-License-Identifier: Apache-2.0
// Micro-benchmarks of the CPU work on hoist's request path: hashing, the TLS record cipher, JSON
// parsing of manifests and tag lists, header parsing, reference parsing; and of planning: loading
// and validating the k8s.io manifests, computing their edges.
#include "crypto/batch_signer.hpp"
#include "crypto/dsse.hpp"
#include "crypto/sha256.hpp"
#include "crypto/simple_signing.hpp"
#include "engine/manifest/loader.hpp"
#include "engine/plan/edges.hpp"
#include "net/registry/listing.hpp"
#include "net/registry/manifest_parse.hpp"
#include "net/registry/reference.hpp"
#include "net/registry/www_authenticate.hpp"
#include "tools/testkit/synthetic_image.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <openssl/aead.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace hoist;

void BM_Sha256(benchmark::State& state) {
    std::string data(static_cast<std::size_t>(state.range(0)), 'x');
    for (auto _ : state) {
        benchmark::DoNotOptimize(crypto::sha256::of(data));
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(4096)->Arg(1 << 20);

// The TLS record cipher every blob byte goes through twice, opened on the way down and
// sealed on the way up: docker-registry (Go) picks TLS_AES_128_GCM_SHA256 for a client
// on AES-NI hardware, in records of at most 16 KiB. With SHA-256 above, it is the floor
// of what copying a byte over TLS with its digest checked can cost on this CPU, whatever
// the client (bench/promote_vs_skopeo.sh reports that floor for W2).
constexpr std::size_t tls_record = 16384;

struct aead_fixture {
    aead_fixture() {
        std::array<std::uint8_t, 16> key{};
        if (EVP_AEAD_CTX_init(&ctx, EVP_aead_aes_128_gcm(), key.data(), key.size(),
                              EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr) != 1) {
            throw std::runtime_error("EVP_AEAD_CTX_init failed");
        }
    }
    ~aead_fixture() { EVP_AEAD_CTX_cleanup(&ctx); }
    aead_fixture(const aead_fixture&) = delete;
    aead_fixture& operator=(const aead_fixture&) = delete;

    std::size_t seal(std::uint8_t* out, std::size_t capacity, const std::uint8_t* in,
                     std::size_t size) {
        std::size_t written = 0;
        if (EVP_AEAD_CTX_seal(&ctx, out, &written, capacity, nonce.data(), nonce.size(), in, size,
                              nullptr, 0) != 1) {
            throw std::runtime_error("EVP_AEAD_CTX_seal failed");
        }
        return written;
    }

    EVP_AEAD_CTX ctx;
    std::array<std::uint8_t, 12> nonce{};
};

void BM_TlsRecordSeal(benchmark::State& state) {
    aead_fixture aead;
    std::vector<std::uint8_t> plain(tls_record, 'x');
    std::vector<std::uint8_t> sealed(tls_record + EVP_AEAD_MAX_OVERHEAD);
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            aead.seal(sealed.data(), sealed.size(), plain.data(), plain.size()));
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(tls_record));
}
BENCHMARK(BM_TlsRecordSeal);

void BM_TlsRecordOpen(benchmark::State& state) {
    aead_fixture aead;
    std::vector<std::uint8_t> plain(tls_record, 'x');
    std::vector<std::uint8_t> sealed(tls_record + EVP_AEAD_MAX_OVERHEAD);
    sealed.resize(aead.seal(sealed.data(), sealed.size(), plain.data(), plain.size()));
    for (auto _ : state) {
        std::size_t opened = 0;
        if (EVP_AEAD_CTX_open(&aead.ctx, plain.data(), &opened, plain.size(), aead.nonce.data(),
                              aead.nonce.size(), sealed.data(), sealed.size(), nullptr, 0) != 1) {
            state.SkipWithError("EVP_AEAD_CTX_open failed");
            break;
        }
        benchmark::DoNotOptimize(opened);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(tls_record));
}
BENCHMARK(BM_TlsRecordOpen);

// The kernel's share of the same floor: every byte of a copy is received once and sent
// once. Both ends of one loopback TCP connection run here, so the process pays for one
// receive and one send of each byte, as a client between two registries does; the rate
// is per CPU-second of the whole process.
void write_all(int fd, const std::uint8_t* bytes, std::size_t size) {
    while (size > 0) {
        auto n = ::send(fd, bytes, size, MSG_NOSIGNAL);
        if (n <= 0) {
            throw std::runtime_error("loopback send failed");
        }
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

void BM_LoopbackTcp(benchmark::State& state) {
    namespace asio = boost::asio;
    constexpr std::size_t piece = 256u << 10;
    const auto per_iteration = static_cast<std::size_t>(state.range(0));
    asio::io_context io;
    asio::ip::tcp::acceptor listener(io, {asio::ip::address_v4::loopback(), 0});
    asio::ip::tcp::socket sender(io);
    sender.connect(listener.local_endpoint());
    asio::ip::tcp::socket receiver = listener.accept();
    std::vector<std::uint8_t> out(piece, 'x');
    std::vector<std::uint8_t> in(piece);
    for (auto _ : state) {
        std::thread writer([&] {
            for (std::size_t sent = 0; sent < per_iteration; sent += piece) {
                write_all(sender.native_handle(), out.data(), piece);
            }
        });
        for (std::size_t got = 0; got < per_iteration;) {
            auto n = ::recv(receiver.native_handle(), in.data(), in.size(), 0);
            if (n <= 0) {
                writer.join();
                state.SkipWithError("loopback recv failed");
                return;
            }
            got += static_cast<std::size_t>(n);
        }
        writer.join();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
}
BENCHMARK(BM_LoopbackTcp)->Arg(64 << 20)->MeasureProcessCPUTime();

void BM_ParseImageManifest(benchmark::State& state) {
    testkit::image_spec spec;
    spec.layers = static_cast<std::size_t>(state.range(0));
    auto image = testkit::build_image(spec);
    for (auto _ : state) {
        auto parsed = net::registry::parse_manifest(image.top.body, image.top.media_type);
        benchmark::DoNotOptimize(parsed);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(image.top.body.size()));
}
BENCHMARK(BM_ParseImageManifest)->Arg(3)->Arg(30);

void BM_ParseIndex(benchmark::State& state) {
    testkit::image_spec spec;
    spec.platforms = {"linux/amd64",   "linux/arm64", "linux/arm/v7",
                      "linux/ppc64le", "linux/s390x", "windows/amd64"};
    auto image = testkit::build_image(spec);
    for (auto _ : state) {
        auto parsed = net::registry::parse_manifest(image.top.body, image.top.media_type);
        benchmark::DoNotOptimize(parsed);
    }
}
BENCHMARK(BM_ParseIndex);

void BM_ParseTagPage(benchmark::State& state) {
    std::string body = "{\"name\":\"k8s/pause\",\"tags\":[";
    for (int i = 0; i < state.range(0); ++i) {
        body += (i ? ",\"" : "\"") + std::string("v1.") + std::to_string(i) + ".0\"";
    }
    body += "]}";
    for (auto _ : state) {
        auto page = net::registry::parse_tag_page(body);
        benchmark::DoNotOptimize(page);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseTagPage)->Arg(100)->Arg(10000);

void BM_ParseChallenge(benchmark::State& state) {
    std::string header =
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
        "scope=\"repository:library/nginx:pull,push\"";
    for (auto _ : state) {
        benchmark::DoNotOptimize(net::registry::parse_www_authenticate(header));
    }
}
BENCHMARK(BM_ParseChallenge);

void BM_ParseReference(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(net::registry::parse_image_ref(
            "registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:"
            "5b161f051d017e55d358435f295f5e9a297e66158f136321d9b04520ec6c48a3"));
    }
}
BENCHMARK(BM_ParseReference);

// The whole k8s.io corpus (2.2 MB of YAML, 150 files): parse and validate, on one thread
// and on one per CPU.
void BM_LoadK8sCorpus(benchmark::State& state) {
    engine::load_options options;
    options.threads = static_cast<unsigned>(state.range(0));
    std::size_t manifests = 0;
    for (auto _ : state) {
        auto set = engine::load_thin_manifests(HOIST_K8SIO_DIR, options);
        manifests = set.manifests.size();
        benchmark::DoNotOptimize(set);
    }
    state.counters["manifests"] = static_cast<double>(manifests);
    state.SetBytesProcessed(state.iterations() * 2'225'304);
}
BENCHMARK(BM_LoadK8sCorpus)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// The ~720,000 edges of the corpus.
void BM_ComputeK8sEdges(benchmark::State& state) {
    auto set = engine::load_thin_manifests(HOIST_K8SIO_DIR);
    std::size_t edges = 0;
    for (auto _ : state) {
        auto computed = engine::compute_edges(set.manifests);
        edges = computed.edges.size();
        benchmark::DoNotOptimize(computed);
    }
    state.counters["edges"] = static_cast<double>(edges);
}
BENCHMARK(BM_ComputeK8sEdges)->Unit(benchmark::kMillisecond);

// The Sign phase's CPU: one simple-signing payload per promoted digest, signed on the
// caller's thread (the baseline) or handed to the batched signer by coroutines, as the
// phase does, with the I/O thread free while a worker signs.
std::string signing_payload(int i) {
    return hoist::crypto::simple_signing_payload(
        "registry.k8s.io/img-" + std::to_string(i),
        "sha256:" + std::string(63, 'a') + std::to_string(i % 10),
        {{"org.kubernetes.kpromo.version", "hoist-bench"}});
}

void BM_SignDirect(benchmark::State& state) {
    auto key = *hoist::crypto::ec_private_key::generate();
    auto count = static_cast<int>(state.range(0));
    for (auto _ : state) {
        for (int i = 0; i < count; ++i) {
            benchmark::DoNotOptimize(key.sign_der(signing_payload(i)));
        }
    }
    state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_SignDirect)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SignBatched(benchmark::State& state) {
    namespace asio = boost::asio;
    auto key = *hoist::crypto::ec_private_key::generate();
    auto count = static_cast<int>(state.range(0));
    auto workers = static_cast<std::size_t>(state.range(1));
    hoist::crypto::batch_signer signer(key, workers);
    for (auto _ : state) {
        asio::io_context io;
        for (int i = 0; i < count; ++i) {
            asio::co_spawn(
                io,
                [&signer, i]() -> asio::awaitable<void> {
                    auto [error, signature] = co_await signer.async_sign(
                        signing_payload(i), asio::as_tuple(asio::use_awaitable));
                    benchmark::DoNotOptimize(signature);
                },
                asio::detached);
        }
        io.run();
    }
    state.SetItemsProcessed(state.iterations() * count);
    state.counters["batches"] = static_cast<double>(signer.stats().batches);
}
BENCHMARK(BM_SignBatched)
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
