#include "balancer/weighted_split.h"

#include <cmath>

#include "balancer/hash.h"

namespace sluice::balancer {

namespace {

// A uniform draw in (0, 1) (never 0 or 1: ln() of it is finite and negative) for a key and a
// side. Two rounds of the splitmix64 finaliser, the side's seed mixed in before each, so the
// draws of one key for different sides are independent of each other.
double draw(uint64_t key_hash, uint64_t seed) {
  uint64_t h = mix64(mix64(key_hash ^ seed) + seed);
  return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}

}  // namespace

WeightedSplit::WeightedSplit(std::vector<Side> sides) {
  sides_.reserve(sides.size());
  for (Side& s : sides) {
    total_ += s.weight;
    uint64_t seed = hashKey(s.name);
    sides_.push_back(Entry{std::move(s), seed});
  }
}

size_t WeightedSplit::pickRandom(uint64_t random64) const {
  if (total_ == 0) return 0;
  // A uniform point in [0, total): the high half of random64 x total (Lemire's multiply-shift).
  auto point = static_cast<uint64_t>((static_cast<unsigned __int128>(random64) * total_) >> 64);
  for (size_t i = 0; i < sides_.size(); ++i) {
    if (point < sides_[i].side.weight) return i;
    point -= sides_[i].side.weight;
  }
  return sides_.size() - 1;  // not reached: the weights sum to total_
}

size_t WeightedSplit::pickSticky(uint64_t key_hash) const {
  size_t best = 0;
  double best_score = -1;
  for (size_t i = 0; i < sides_.size(); ++i) {
    const Entry& e = sides_[i];
    if (e.side.weight == 0) continue;
    double score = -static_cast<double>(e.side.weight) / std::log(draw(key_hash, e.seed));
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

}  // namespace sluice::balancer
