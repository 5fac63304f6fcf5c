// A route's weighted split across upstreams (`upstreams: [{name, weight}]`): which side serves a
// request, at random by weight, or, for a request with a sticky key, by weighted rendezvous
// hashing (highest random weight) so that the same key keeps its side and a change of the split
// moves only the keys it must. Pure logic: randomness and the key's hash come in as parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::balancer {

class WeightedSplit {
 public:
  struct Side {
    std::string name;     // the upstream's name: the side's identity for sticky keys
    uint32_t weight = 0;  // 0 = no traffic
  };

  // Built once per config snapshot on the main thread; pick*() are const and may run on every
  // worker at once. At least one side should have a weight above 0 (the config loader refuses
  // a split without one); if none has, every pick answers side 0.
  explicit WeightedSplit(std::vector<Side> sides);

  size_t size() const { return sides_.size(); }
  const Side& side(size_t i) const { return sides_[i].side; }

  // A request without a sticky key: side i with probability weight_i / total, from 64 uniform
  // random bits the caller draws (a worker's generator; tests pass exact values).
  size_t pickRandom(uint64_t random64) const;

  // A request whose sticky key hashes to `key_hash` (hashKey() of the key's value). Every side
  // draws a number from (key, side name) alone and scores -weight / ln(draw); the highest score
  // wins. Each side wins with probability weight / total, and since a side's score does not
  // depend on the other sides: raising one weight only moves keys to that side, adding a side
  // only moves keys to it, removing one only moves its own keys (Schindelhauer and Schomaker,
  // "Weighted distributed hash tables", 2005). Same key, same names, same weights: same side, in
  // every process and version.
  size_t pickSticky(uint64_t key_hash) const;

 private:
  struct Entry {
    Side side;
    uint64_t seed = 0;  // hashKey(name)
  };
  std::vector<Entry> sides_;
  uint64_t total_ = 0;
};

}  // namespace sluice::balancer
