// The module's only export surface: every kernel the host may call. Each file here holds the
// kernels of the src/ file of the same name (assembly/pool-backprop.ts ↔ src/ops/pool-backprop.ts);
// kernels named op[_grad]_layout_dtype[_variant] (README, Development).
export { heap_base, fill_f32, backend_id } from './memory';
export { igemm_f32_4x8 } from './gemm/igemm';
export { im2col_nhwc_f32 } from './gemm/im2col';
export { conv2d_filter_grad_nhwc_f32_im2col, winograd_f23_band, winograd_f43_band, winograd_multiply, winograd_plane_bytes } from './gemm/tiles';
export { conv2d_nhwc_f32_direct } from './conv-direct';
export { gemm_tn_f32_4x8 } from './gemm/gemm-tn';
export { igemm_f32_4x8_act, conv2d_nhwc_f32_depthwise_act } from './conv-act';
export { conv2d_nhwc_f32_depthwise, conv2d_nhwc_f32_c1, pad2d_nhwc_f32_c1, locallyconnected2d_nhwc_f32 } from './conv';
export { conv2d_filter_grad_nhwc_f32_c1, transpose_nhwc_nchw_f32, locallyconnected2d_input_grad_nhwc_f32, locallyconnected2d_filter_grad_nhwc_f32 } from './conv-backprop';
export { winograd_f23_input_transform, winograd_f23_output_transform } from './winograd';
export { winograd_f43_input_transform, winograd_f43_output_transform } from './winograd-f43';
export { winograd_pack_filter } from './winograd-pack';
export { bias_grad_f32, add_partials_f32 } from './dense';
export { maxpool2d_nhwc_f32 } from './pool-max';
export { maxpool2d_nhwc_f32_argmax, avgpool2d_nhwc_f32, lppool2d_nhwc_f32, mixedpool2d_nhwc_f32 } from './pool';
export { maxpool2d_grad_nhwc_f32, avgpool2d_grad_nhwc_f32, lppool2d_grad_nhwc_f32, mixedpool2d_grad_nhwc_f32 } from './pool-backprop';
export { relu_f32, leaky_relu_f32, prelu_f32, elu_f32, selu_f32, sigmoid_f32, tanh_f32, swish_f32, gelu_f32, relu6_f32, hard_sigmoid_f32, hard_swish_f32, softmax_f32, log_softmax_f32, maxout_f32 } from './activation';
export { relu_grad_f32, leaky_relu_grad_f32, prelu_grad_f32, elu_grad_f32, selu_grad_f32, sigmoid_grad_f32, tanh_grad_f32, swish_grad_f32, gelu_grad_f32, relu6_grad_f32, hard_sigmoid_grad_f32, hard_swish_grad_f32, softmax_grad_f32, log_softmax_grad_f32, maxout_grad_f32 } from './activation-backprop';
export { softmax_cross_entropy_f32, hinge_multiclass_f32, contrastive_f32, triplet_f32, kl_divergence_f32, squared_error_f32, argmax_hits_f32 } from './losses';
export { sgd_step_f32, adagrad_step_f32, rmsprop_step_f32, adam_step_f32 } from './optimizers';
export { dropout_f32, mul_f32 } from './dropout';
export { arith_f32, arith_f32_backward, f64_to_f32, add_n_f32 } from './arithmetic';
export { copy_rows_f32 } from './concat';
export { pad2d_nhwc_f32, pad2d_nhwc_f32_backward } from './pad';
export { batchnorm_nhwc_f32, batchnorm_nhwc_f32_train, batchnorm_nhwc_f32_backward } from './normalization';
export { upsample2d_nhwc_f32_nearest, upsample2d_nhwc_f32_nearest_backward, upsample2d_nhwc_f32_bilinear, upsample2d_nhwc_f32_bilinear_backward } from './upsample';
