// The module's only export surface: every kernel the host may call.
export { heap_base, fill_f32, backend_id } from './memory';
export { igemm_f32_4x8 } from './gemm/igemm';
export { im2col_nhwc_f32, gemm_tn_f32_4x8 } from './gemm/im2col';
export { dwconv_f32, conv2d_c1_f32, pad_c1_f32, conv2d_c1_filter_grad_f32, transpose_dy_c1_f32, locally_connected_f32, bias_grad_f32, locally_connected_input_grad_f32, locally_connected_filter_grad_f32 } from './conv';
export { maxpool2d_nhwc_f32, avgpool2d_nhwc_f32, lppool2d_nhwc_f32, mixedpool2d_nhwc_f32 } from './pool';
export { relu_f32, leaky_relu_f32, prelu_f32, elu_f32, selu_f32, sigmoid_f32, tanh_f32, swish_f32, gelu_f32, softmax_f32, log_softmax_f32, maxout_f32, relu6_f32, hard_sigmoid_f32, hard_swish_f32 } from './elementwise';
export { sgd_step_f32, adagrad_step_f32, rmsprop_step_f32, adam_step_f32 } from './optim';
export { dropout_f32, mul_f32 } from './dropout';
export { softmax_cross_entropy_f32, hinge_multiclass_f32, contrastive_loss_f32, triplet_loss_f32, kl_divergence_f32, squared_error_f32, argmax_hits_f32 } from './loss';
export { maxpool2d_nhwc_f32_backward, avgpool2d_nhwc_f32_backward, lppool2d_nhwc_f32_backward, mixedpool2d_nhwc_f32_backward } from './pool_grad';
export { relu_grad_f32, leaky_relu_grad_f32, prelu_grad_f32, elu_grad_f32, selu_grad_f32, sigmoid_grad_f32, tanh_grad_f32, swish_grad_f32, gelu_grad_f32, softmax_grad_f32, log_softmax_grad_f32, maxout_grad_f32, relu6_grad_f32, hard_sigmoid_grad_f32, hard_swish_grad_f32 } from './activation_grad';
export { winograd_f23_input_transform, winograd_f23_output_transform } from './winograd';
export { peak_f32x4 } from './bench';
export { arith_f32, arith_f32_backward, f64_to_f32, add_n_f32 } from './arithmetic';
export { copy_rows_f32 } from './concat';
export { pad2d_nhwc_f32, pad2d_nhwc_f32_backward } from './pad';
export { batchnorm_nhwc_f32, batchnorm_nhwc_f32_train, batchnorm_nhwc_f32_backward } from './normalization';
export { upsample2d_nhwc_f32_nearest, upsample2d_nhwc_f32_nearest_backward, upsample2d_nhwc_f32_bilinear, upsample2d_nhwc_f32_bilinear_backward } from './upsample';
