#include "src/metrics/evaluate.h"

#include "src/metrics/detector.h"

namespace gan {

EvalResult evaluate_fake_set(const std::vector<std::string>& metrics, const Detector& det,
                             FeatureSet& real, FeatureSet& fake, EvalProtocol protocol,
                             const GeneratorHandle* generator) {
  protocol.detector = det.name();
  protocol.resize = det.resize();
  protocol.num_fake = fake.count();
  if (protocol.num_real == 0) protocol.num_real = real.count();
  return compute_metrics(metrics, real, fake, protocol, generator);
}

EvalResult evaluate_metrics(const std::vector<std::string>& metrics, Detector& det,
                            FeatureSet& real, const ImageSource& fake, int64_t num_fake,
                            EvalProtocol protocol, const LabelSource& fake_labels, int64_t batch,
                            const GeneratorHandle* generator) {
  ExtractOptions opt;
  opt.batch = batch;
  opt.probs = metrics_need_probs(metrics);
  double ips = 0;
  FeatureSet fake_set = extract_features(det, fake, num_fake, opt, fake_labels, &ips);
  EvalResult r = evaluate_fake_set(metrics, det, real, fake_set, std::move(protocol), generator);
  r.fake_img_per_s = ips;
  return r;
}

}  // namespace gan
