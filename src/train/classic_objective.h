// The classic GAN objectives: one adversarial loss (losses.h) for D and G, with R1 and the
// WGAN-GP gradient penalty as D's regularisers (`loss: {type: hinge, r1: {gamma: 10,
// interval: 16}}`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/train/objective.h"

namespace gan {

// nonsaturating, hinge, wgan, lsgan.
const std::vector<std::string>& classic_losses();
ComponentSchema classic_objective_schema(const std::string& loss);
std::unique_ptr<Objective> make_classic_objective(const std::string& loss,
                                                  const ComponentConfig& cfg);

}  // namespace gan
