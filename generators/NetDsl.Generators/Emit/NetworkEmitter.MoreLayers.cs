using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.IndentedWriter;

namespace NetDsl.Generators.Emit;

// The catalogue's layers beyond the basic chain: grouped and transposed convolutions, global pooling,
// batch and local response normalization, PReLU, ELU, softmax, maxout and flatten.
internal sealed partial class NetworkEmitter
{
    /// <summary>Layers (−1: the input) whose output a skip connection also reads.</summary>
    private IEnumerable<int> SkipSources() => _net.Layers.Where(l => l.SkipLayer >= -1).Select(l => l.SkipLayer).Distinct().OrderBy(i => i);

    private string SkipGrad(int source) => source < 0 ? "_skipGradInput" : "_skipGrad" + _member[source];

    private void WriteMoreWorkspace(ShapedLayer l)
    {
        string m = _member[l.Index];
        switch (l.Kind)
        {
            case LayerKind.BatchNorm:
                _w.Line($"private readonly float[] _xhat{m};  // {OutShape(l)} normalized input x̂");
                _w.Line($"private readonly float[] _mean{m} = new float[{l.OutC}], _invStd{m} = new float[{l.OutC}]; // statistics in use");
                _w.Line($"private readonly float[] _sumDy{m} = new float[{l.OutC}], _sumDyXhat{m} = new float[{l.OutC}]; // backward sums");
                break;
            case LayerKind.LocalResponseNorm:
                _w.Line($"private readonly float[] _scale{m};  // {OutShape(l)} k + (α/n)·Σ a²");
                break;
            case LayerKind.Maxout:
                _w.Line($"private readonly float[] _pieces{m};  // [N, {l.OutC * l.Count}] every piece's value, then its gradient");
                break;
        }
    }

    private void WriteMoreAllocation(ShapedLayer l)
    {
        string m = _member[l.Index];
        switch (l.Kind)
        {
            case LayerKind.BatchNorm: _w.Line($"_xhat{m} = new float[maxBatch * {l.OutSize}];"); break;
            case LayerKind.LocalResponseNorm: _w.Line($"_scale{m} = new float[maxBatch * {l.OutSize}];"); break;
            case LayerKind.Maxout: _w.Line($"_pieces{m} = new float[maxBatch * {l.OutC * l.Count}];"); break;
        }
    }

    private void Range(ShapedLayer l, string name, string buffer, int size, bool readOnly)
        => _w.Line($"{(readOnly ? RoSpan : Span)} {name} = {buffer}.AsSpan(n0 * {size}, (n1 - n0) * {size});");

    private void WriteMoreForward(ShapedLayer l, string x, string y)
    {
        string m = _member[l.Index];
        int hw = l.InH * l.InW;
        switch (l.Kind)
        {
            case LayerKind.ConvTranspose2D:
                WriteConvTransposeForward(l, x, y);
                return;
            case LayerKind.BatchNorm:
                WriteBatchNormForward(l, x, y);
                return;
        }
        Header(l, "forward");
        _w.Open($"private void {m}Forward(int n0, int n1)");
        switch (l.Kind)
        {
            case LayerKind.GlobalAvgPool2D:
                Range(l, "x", x, l.InSize, true);
                Range(l, "y", y, l.OutSize, false);
                _w.Line($"for (int plane = 0; plane < y.Length; plane++) y[plane] = {Rt}.Kernels.Vec.Sum(x.Slice(plane * {hw}, {hw})) / {hw};");
                break;
            case LayerKind.Flatten:
                Range(l, "x", x, l.InSize, true);
                Range(l, "y", y, l.OutSize, false);
                _w.Line("x.CopyTo(y); // (C, H, W) row-major is already the flat order");
                break;
            case LayerKind.Add:
                Range(l, "x", x, l.InSize, true);
                Range(l, "skip", Act(l.SkipLayer), l.InSize, true);
                Range(l, "y", y, l.OutSize, false);
                _w.Line($"x.CopyTo(y); // previous layer + {(l.SkipLayer < 0 ? "input" : Layer(l.SkipLayer).Name)}");
                _w.Line($"{Rt}.Kernels.Vec.Add(y, skip);");
                break;
            case LayerKind.Concat:
            {
                int skipSize = l.OutSize - l.InSize;
                _w.Line($"// channels [0, {l.InC}) from the previous layer, [{l.InC}, {l.OutC}) from {(l.SkipLayer < 0 ? "the input" : Layer(l.SkipLayer).Name)}");
                _w.Open("for (int n = n0; n < n1; n++)");
                _w.Line($"{x}.AsSpan(n * {l.InSize}, {l.InSize}).CopyTo({y}.AsSpan(n * {l.OutSize}, {l.InSize}));");
                _w.Line($"{Act(l.SkipLayer)}.AsSpan(n * {skipSize}, {skipSize}).CopyTo({y}.AsSpan(n * {l.OutSize} + {l.InSize}, {skipSize}));");
                _w.Close();
                break;
            }
            case LayerKind.ELU:
                Range(l, "x", x, l.InSize, true);
                Range(l, "y", y, l.OutSize, false);
                _w.Line($"for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0f ? x[i] : {F(l.Real)} * (global::System.MathF.Exp(x[i]) - 1f);");
                break;
            case LayerKind.PReLU:
                Range(l, "x", x, l.InSize, true);
                Range(l, "y", y, l.OutSize, false);
                _w.Line($"{RoSpan} slope = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount});");
                _w.Open("for (int i = 0; i < y.Length; i++)");
                _w.Line(l.WeightCount == 1 ? "float a = slope[0];" : $"float a = slope[(i / {hw}) % {l.InC}];");
                _w.Line("y[i] = x[i] > 0f ? x[i] : a * x[i];");
                _w.Close();
                break;
            case LayerKind.Softmax:
                _w.Line($"// Softmax over the {l.InC} channels at each of the {hw} positions, shifted by the maximum for stability.");
                _w.Open("for (int n = n0; n < n1; n++)");
                _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
                _w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Open($"for (int p = 0; p < {hw}; p++)");
                _w.Line("float max = float.NegativeInfinity;");
                _w.Line($"for (int c = 0; c < {l.InC}; c++) max = global::System.MathF.Max(max, x[c * {hw} + p]);");
                _w.Line("float sum = 0f;");
                _w.Line($"for (int c = 0; c < {l.InC}; c++) {{ float e = global::System.MathF.Exp(x[c * {hw} + p] - max); y[c * {hw} + p] = e; sum += e; }}");
                _w.Line($"for (int c = 0; c < {l.InC}; c++) y[c * {hw} + p] /= sum;");
                _w.Close();
                _w.Close();
                break;
            case LayerKind.LocalResponseNorm:
            {
                int before = l.Count / 2, after = (l.Count - 1) / 2;
                _w.Line($"// b_c = a_c / (k + (α/n)·Σ_{{c' = c−{before}..c+{after}}} a_c'²)^β; channels outside [0, {l.InC}) count as zero.");
                _w.Open("for (int n = n0; n < n1; n++)");
                _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
                _w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Line($"{Span} scale = _scale{m}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Open($"for (int c = 0; c < {l.InC}; c++)");
                _w.Line($"int lo = global::System.Math.Max(0, c - {before}), hi = global::System.Math.Min({l.InC - 1}, c + {after});");
                _w.Open($"for (int p = 0; p < {hw}; p++)");
                _w.Line("float sum = 0f;");
                _w.Line($"for (int j = lo; j <= hi; j++) {{ float v = x[j * {hw} + p]; sum += v * v; }}");
                _w.Line($"float s = {F(l.Real3)} + {F(l.Real / l.Count)} * sum;");
                _w.Line($"scale[c * {hw} + p] = s;");
                _w.Line($"y[c * {hw} + p] = x[c * {hw} + p] * global::System.MathF.Pow(s, {F(-l.Real2)});");
                _w.Close();
                _w.Close();
                _w.Close();
                break;
            }
            case LayerKind.Maxout:
            {
                int pieces = l.OutC * l.Count;
                _w.Line("int rows = n1 - n0;");
                Range(l, "x", x, l.InSize, true);
                Range(l, "y", y, l.OutSize, false);
                _w.Line($"{Span} z = _pieces{m}.AsSpan(n0 * {pieces}, rows * {pieces}); // [rows, {l.OutC}, {l.Count}]");
                _w.Line($"global::System.Span<int> winner = _argmax{m}.AsSpan(n0 * {l.OutC}, rows * {l.OutC});");
                _w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.Count}, {l.InSize}]");
                _w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.BiasCount}); // [{l.OutC}, {l.Count}]");
                _w.Line($"{Rt}.Kernels.Gemm.Nt(rows, {pieces}, {l.InSize}, x, {l.InSize}, weight, {l.InSize}, z, {pieces}, accumulate: false);");
                _w.Open("for (int r = 0; r < rows; r++)");
                _w.Line($"{Rt}.Kernels.Vec.Add(z.Slice(r * {pieces}, {pieces}), bias);");
                _w.Open($"for (int u = 0; u < {l.OutC}; u++)");
                _w.Line($"int best = 0; float value = z[r * {pieces} + u * {l.Count}];");
                _w.Line($"for (int k = 1; k < {l.Count}; k++) {{ float v = z[r * {pieces} + u * {l.Count} + k]; if (v > value) {{ value = v; best = k; }} }}");
                _w.Line($"y[r * {l.OutC} + u] = value;");
                _w.Line($"winner[r * {l.OutC} + u] = best;");
                _w.Close();
                _w.Close();
                break;
            }
        }
        _w.Close();
        _w.Line();
    }

    private void WriteMoreBackward(ShapedLayer l, string x, string y, string dx, string dy)
    {
        string m = _member[l.Index];
        int hw = l.InH * l.InW;
        switch (l.Kind)
        {
            case LayerKind.ConvTranspose2D:
                WriteConvTransposeBackward(l, x, dx, dy);
                return;
            case LayerKind.BatchNorm:
                WriteBatchNormBackward(l, dx, dy);
                return;
        }
        Header(l, "backward");
        string extra = l.Kind switch
        {
            LayerKind.PReLU => ", float[] grad",
            LayerKind.Maxout => ", float[] grad, bool inputGradient",
            _ => "",
        };
        _w.Open($"private void {m}Backward(int n0, int n1{extra})");
        switch (l.Kind)
        {
            case LayerKind.GlobalAvgPool2D:
                Range(l, "dy", dy, l.OutSize, true);
                Range(l, "dx", dx, l.InSize, false);
                _w.Line($"for (int plane = 0; plane < dy.Length; plane++) dx.Slice(plane * {hw}, {hw}).Fill(dy[plane] / {hw});");
                break;
            case LayerKind.Flatten:
                Range(l, "dy", dy, l.OutSize, true);
                Range(l, "dx", dx, l.InSize, false);
                _w.Line("dy.CopyTo(dx);");
                break;
            case LayerKind.Add:
                Range(l, "dy", dy, l.OutSize, true);
                Range(l, "dx", dx, l.InSize, false);
                Range(l, "dSkip", SkipGrad(l.SkipLayer), l.InSize, false);
                _w.Line("dy.CopyTo(dx);");
                _w.Line($"{Rt}.Kernels.Vec.Add(dSkip, dy);");
                break;
            case LayerKind.Concat:
            {
                int skipSize = l.OutSize - l.InSize;
                _w.Open("for (int n = n0; n < n1; n++)");
                _w.Line($"{dy}.AsSpan(n * {l.OutSize}, {l.InSize}).CopyTo({dx}.AsSpan(n * {l.InSize}, {l.InSize}));");
                _w.Line($"{Rt}.Kernels.Vec.Add({SkipGrad(l.SkipLayer)}.AsSpan(n * {skipSize}, {skipSize}), {dy}.AsSpan(n * {l.OutSize} + {l.InSize}, {skipSize}));");
                _w.Close();
                break;
            }
            case LayerKind.ELU:
                Range(l, "x", x, l.InSize, true);
                Range(l, "y", y, l.OutSize, true);
                Range(l, "dy", dy, l.OutSize, true);
                Range(l, "dx", dx, l.InSize, false);
                _w.Line($"// elu'(x) = 1 for x > 0, else y + α (= α at 0, as PyTorch)");
                _w.Line($"for (int i = 0; i < dx.Length; i++) dx[i] = x[i] > 0f ? dy[i] : dy[i] * (y[i] + {F(l.Real)});");
                break;
            case LayerKind.PReLU:
                Range(l, "x", x, l.InSize, true);
                Range(l, "dy", dy, l.OutSize, true);
                Range(l, "dx", dx, l.InSize, false);
                _w.Line($"{RoSpan} slope = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount});");
                _w.Line($"{Span} dSlope = grad.AsSpan({l.WeightOffset}, {l.WeightCount});");
                _w.Open("for (int i = 0; i < dx.Length; i++)");
                _w.Line(l.WeightCount == 1 ? "const int a = 0;" : $"int a = (i / {hw}) % {l.InC};");
                _w.Line("if (x[i] > 0f) dx[i] = dy[i];");
                _w.Line("else { dx[i] = slope[a] * dy[i]; dSlope[a] += dy[i] * x[i]; }");
                _w.Close();
                break;
            case LayerKind.Softmax:
                _w.Line("// dx = y ⊙ (dy − Σ_c dy ⊙ y)");
                _w.Open("for (int n = n0; n < n1; n++)");
                _w.Line($"{RoSpan} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Line($"{Span} dx = {dx}.AsSpan(n * {l.InSize}, {l.InSize});");
                _w.Open($"for (int p = 0; p < {hw}; p++)");
                _w.Line("float dot = 0f;");
                _w.Line($"for (int c = 0; c < {l.InC}; c++) dot += dy[c * {hw} + p] * y[c * {hw} + p];");
                _w.Line($"for (int c = 0; c < {l.InC}; c++) dx[c * {hw} + p] = y[c * {hw} + p] * (dy[c * {hw} + p] - dot);");
                _w.Close();
                _w.Close();
                break;
            case LayerKind.LocalResponseNorm:
            {
                int before = l.Count / 2, after = (l.Count - 1) / 2;
                double coeff = 2.0 * l.Real * l.Real2 / l.Count;
                _w.Line($"// dx_j = dy_j·s_j^−β − (2αβ/n)·a_j·Σ_{{c: j in window(c)}} dy_c·a_c·s_c^(−β−1)");
                _w.Open("for (int n = n0; n < n1; n++)");
                _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
                _w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Line($"{RoSpan} scale = _scale{m}.AsSpan(n * {l.OutSize}, {l.OutSize});");
                _w.Line($"{Span} dx = {dx}.AsSpan(n * {l.InSize}, {l.InSize});");
                _w.Open($"for (int j = 0; j < {l.InC}; j++)");
                _w.Line($"int lo = global::System.Math.Max(0, j - {after}), hi = global::System.Math.Min({l.InC - 1}, j + {before});");
                _w.Open($"for (int p = 0; p < {hw}; p++)");
                _w.Line("float sum = 0f;");
                _w.Line($"for (int c = lo; c <= hi; c++) {{ float s = scale[c * {hw} + p]; sum += dy[c * {hw} + p] * x[c * {hw} + p] * global::System.MathF.Pow(s, {F(-l.Real2 - 1)}); }}");
                _w.Line($"dx[j * {hw} + p] = dy[j * {hw} + p] * global::System.MathF.Pow(scale[j * {hw} + p], {F(-l.Real2)}) - {F(coeff)} * x[j * {hw} + p] * sum;");
                _w.Close();
                _w.Close();
                _w.Close();
                break;
            }
            case LayerKind.Maxout:
            {
                int pieces = l.OutC * l.Count;
                _w.Line("int rows = n1 - n0;");
                Range(l, "x", x, l.InSize, true);
                Range(l, "dy", dy, l.OutSize, true);
                _w.Line($"{Span} dz = _pieces{m}.AsSpan(n0 * {pieces}, rows * {pieces}); // the pieces' values are no longer needed: reuse for their gradient");
                _w.Line($"global::System.ReadOnlySpan<int> winner = _argmax{m}.AsSpan(n0 * {l.OutC}, rows * {l.OutC});");
                _w.Line("dz.Clear();");
                _w.Line($"for (int r = 0; r < rows; r++) for (int u = 0; u < {l.OutC}; u++) dz[r * {pieces} + u * {l.Count} + winner[r * {l.OutC} + u]] = dy[r * {l.OutC} + u];");
                _w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount});");
                _w.Line($"{Rt}.Kernels.Gemm.Nn({pieces}, {l.InSize}, rows, dz, 1, {pieces}, x, {l.InSize}, grad.AsSpan({l.WeightOffset}, {l.WeightCount}), {l.InSize}, accumulate: true);");
                _w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.BiasCount});");
                _w.Line($"for (int r = 0; r < rows; r++) {Rt}.Kernels.Vec.Add(dBias, dz.Slice(r * {pieces}, {pieces}));");
                _w.Line($"if (inputGradient) {Rt}.Kernels.Gemm.Nn(rows, {l.InSize}, {pieces}, dz, {pieces}, 1, weight, {l.InSize}, {dx}.AsSpan(n0 * {l.InSize}, rows * {l.InSize}), {l.InSize}, accumulate: false);");
                break;
            }
        }
        _w.Close();
        _w.Line();
    }

    // ---- grouped convolution: one GEMM per group over the shared column matrix ----

    private void WriteGroupedConvForward(ShapedLayer l, string x, string y)
    {
        string m = _member[l.Index];
        int g = l.Groups, cg = l.InC / g, og = l.OutC / g, kg = cg * l.KernelH * l.KernelW, k = l.InC * l.KernelH * l.KernelW, p = l.OutH * l.OutW;
        _w.Line($"private static readonly {Rt}.Kernels.ConvGeometry Geometry{m} = new({l.InC}, {l.InH}, {l.InW}, {l.KernelH}, {l.KernelW}, {l.StrideH}, {l.StrideW}, {l.PadTop}, {l.PadLeft}, {l.Dilation}, {l.OutH}, {l.OutW});");
        _w.Line();
        Header(l, "forward");
        _w.Line($"// {g} groups: output channels [g·{og}, (g+1)·{og}) see input channels [g·{cg}, (g+1)·{cg}).");
        _w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        _w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {cg}, {l.KernelH}, {l.KernelW}]");
        if (l.HasBias) _w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.OutC});");
        _w.Line($"{Span} col = _col[worker].AsSpan(0, {k * p}); // [{k}, {p}]");
        _w.Open("for (int n = n0; n < n1; n++)");
        _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        _w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        _w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, x, col);");
        _w.Line($"for (int g = 0; g < {g}; g++)");
        _w.Line($"    {Rt}.Kernels.Gemm.Nn({og}, {p}, {kg}, weight.Slice(g * {og * kg}), {kg}, 1, col.Slice(g * {kg * p}), {p}, y.Slice(g * {og * p}), {p}, accumulate: false);");
        if (l.HasBias) _w.Line($"for (int c = 0; c < {l.OutC}; c++) {Rt}.Kernels.Vec.AddScalar(y.Slice(c * {p}, {p}), bias[c]);");
        _w.Close();
        _w.Close();
        _w.Line();
    }

    private void WriteGroupedConvBackward(ShapedLayer l, string x, string dx, string dy)
    {
        string m = _member[l.Index];
        int g = l.Groups, cg = l.InC / g, og = l.OutC / g, kg = cg * l.KernelH * l.KernelW, k = l.InC * l.KernelH * l.KernelW, p = l.OutH * l.OutW;
        Header(l, "backward");
        _w.Open($"private void {m}Backward(int n0, int n1, int worker, float[] grad, bool inputGradient)");
        _w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount});");
        _w.Line($"{Span} dWeight = grad.AsSpan({l.WeightOffset}, {l.WeightCount});");
        if (l.HasBias) _w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        _w.Line($"{Span} col = _col[worker].AsSpan(0, {k * p});");
        _w.Line($"{Span} dCol = _colGrad[worker].AsSpan(0, {k * p});");
        _w.Open("for (int n = n0; n < n1; n++)");
        _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        _w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        _w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, x, col);");
        _w.Open($"for (int g = 0; g < {g}; g++)");
        _w.Line($"{Rt}.Kernels.Gemm.Nt({og}, {kg}, {p}, dy.Slice(g * {og * p}), {p}, col.Slice(g * {kg * p}), {p}, dWeight.Slice(g * {og * kg}), {kg}, accumulate: true);");
        _w.Line($"if (inputGradient) {Rt}.Kernels.Gemm.Nn({kg}, {p}, {og}, weight.Slice(g * {og * kg}), 1, {kg}, dy.Slice(g * {og * p}), {p}, dCol.Slice(g * {kg * p}), {p}, accumulate: false);");
        _w.Close();
        if (l.HasBias) _w.Line($"for (int c = 0; c < {l.OutC}; c++) dBias[c] += {Rt}.Kernels.Vec.Sum(dy.Slice(c * {p}, {p}));");
        _w.Open("if (inputGradient)");
        _w.Line($"{Span} dx = {dx}.AsSpan(n * {l.InSize}, {l.InSize});");
        _w.Line("dx.Clear();");
        _w.Line($"{Rt}.Kernels.Im2Col.FoldAdd(in Geometry{m}, dCol, dx);");
        _w.Close();
        _w.Close();
        _w.Close();
        _w.Line();
    }

    // ---- transposed convolution: the adjoint of a convolution from the output back to the input ----

    private void WriteConvTransposeForward(ShapedLayer l, string x, string y)
    {
        string m = _member[l.Index];
        int hw = l.InH * l.InW, k = l.OutC * l.KernelH * l.KernelW, p = l.OutH * l.OutW;
        _w.Line($"// The convolution that {m} is the transpose of: from the {l.OutC}×{l.OutH}×{l.OutW} output to the {l.InC}×{l.InH}×{l.InW} input.");
        _w.Line($"private static readonly {Rt}.Kernels.ConvGeometry Geometry{m} = new({l.OutC}, {l.OutH}, {l.OutW}, {l.KernelH}, {l.KernelW}, {l.StrideH}, {l.StrideW}, {l.PadTop}, {l.PadLeft}, {l.Dilation}, {l.InH}, {l.InW});");
        _w.Line();
        Header(l, "forward");
        _w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        _w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.InC}, {l.OutC}, {l.KernelH}, {l.KernelW}] = [{l.InC}, {k}]");
        if (l.HasBias) _w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.OutC});");
        _w.Line($"{Span} col = _col[worker].AsSpan(0, {k * hw}); // [{k}, {hw}]");
        _w.Open("for (int n = n0; n < n1; n++)");
        _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize}); // [{l.InC}, {hw}]");
        _w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        _w.Line($"// col[{k}, {hw}] = weightᵀ · x, then scatter-add each column's window into y");
        _w.Line($"{Rt}.Kernels.Gemm.Nn({k}, {hw}, {l.InC}, weight, 1, {k}, x, {hw}, col, {hw}, accumulate: false);");
        _w.Line("y.Clear();");
        _w.Line($"{Rt}.Kernels.Im2Col.FoldAdd(in Geometry{m}, col, y);");
        if (l.HasBias) _w.Line($"for (int c = 0; c < {l.OutC}; c++) {Rt}.Kernels.Vec.AddScalar(y.Slice(c * {p}, {p}), bias[c]);");
        _w.Close();
        _w.Close();
        _w.Line();
    }

    private void WriteConvTransposeBackward(ShapedLayer l, string x, string dx, string dy)
    {
        string m = _member[l.Index];
        int hw = l.InH * l.InW, k = l.OutC * l.KernelH * l.KernelW, p = l.OutH * l.OutW;
        Header(l, "backward");
        _w.Open($"private void {m}Backward(int n0, int n1, int worker, float[] grad, bool inputGradient)");
        _w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.InC}, {k}]");
        _w.Line($"{Span} dWeight = grad.AsSpan({l.WeightOffset}, {l.WeightCount});");
        if (l.HasBias) _w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        _w.Line($"{Span} dyCol = _col[worker].AsSpan(0, {k * hw}); // [{k}, {hw}]");
        _w.Open("for (int n = n0; n < n1; n++)");
        _w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        _w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        _w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, dy, dyCol);");
        _w.Line($"// dWeight[{l.InC}, {k}] += x[{l.InC}, {hw}] · dyCol[{k}, {hw}]ᵀ");
        _w.Line($"{Rt}.Kernels.Gemm.Nt({l.InC}, {k}, {hw}, x, {hw}, dyCol, {hw}, dWeight, {k}, accumulate: true);");
        if (l.HasBias) _w.Line($"for (int c = 0; c < {l.OutC}; c++) dBias[c] += {Rt}.Kernels.Vec.Sum(dy.Slice(c * {p}, {p}));");
        _w.Line($"if (inputGradient) {Rt}.Kernels.Gemm.Nn({l.InC}, {hw}, {k}, weight, {k}, 1, dyCol, {hw}, {dx}.AsSpan(n * {l.InSize}, {l.InSize}), {hw}, accumulate: false);");
        _w.Close();
        _w.Close();
        _w.Line();
    }

    // ---- batch normalization: whole-batch statistics between phases, per-share normalization ----

    private void WriteBatchNormForward(ShapedLayer l, string x, string y)
    {
        string m = _member[l.Index];
        int c = l.InC, hw = l.InH * l.InW;
        _w.Line($"/// <summary>{l.Name} statistics: training uses the batch's mean and biased variance over N·{hw} values per channel and");
        _w.Line("/// updates the running averages (unbiased variance, PyTorch's momentum convention); inference uses the running ones.</summary>");
        _w.Open($"private void {m}Statistics()");
        _w.Line($"{Span} runningMean = _buffers.AsSpan({l.BufferOffset}, {c});");
        _w.Line($"{Span} runningVar = _buffers.AsSpan({l.BufferOffset + c}, {c});");
        _w.Open("if (!_training)");
        _w.Line($"for (int c = 0; c < {c}; c++) {{ _mean{m}[c] = runningMean[c]; _invStd{m}[c] = 1f / global::System.MathF.Sqrt(runningVar[c] + {F(l.Real2)}); }}");
        _w.Line("return;");
        _w.Close();
        _w.Line($"long count = (long)_batch * {hw};");
        _w.Line($"if (count < 2) throw new global::System.InvalidOperationException(\"{Cls}.{l.Name}: batch normalization in training mode needs more than one value per channel; got batch \" + _batch + \" of {l.InH}×{l.InW}.\");");
        _w.Open($"for (int c = 0; c < {c}; c++)");
        _w.Line("double sum = 0, sumSq = 0;");
        _w.Open("for (int n = 0; n < _batch; n++)");
        _w.Line($"{RoSpan} plane = {x}.AsSpan(n * {l.InSize} + c * {hw}, {hw});");
        _w.Line("foreach (float v in plane) { sum += v; sumSq += (double)v * v; }");
        _w.Close();
        _w.Line("double mean = sum / count, variance = global::System.Math.Max(sumSq / count - mean * mean, 0.0);");
        _w.Line("_mean" + m + "[c] = (float)mean;");
        _w.Line($"_invStd{m}[c] = (float)(1.0 / global::System.Math.Sqrt(variance + {F(l.Real2)}));");
        _w.Line($"runningMean[c] = (1f - {F(l.Real)}) * runningMean[c] + {F(l.Real)} * (float)mean;");
        _w.Line($"runningVar[c] = (1f - {F(l.Real)}) * runningVar[c] + {F(l.Real)} * (float)(variance * count / (count - 1));");
        _w.Close();
        _w.Close();
        _w.Line();
        Header(l, "forward");
        _w.Open($"private void {m}Forward(int n0, int n1)");
        _w.Line($"{RoSpan} gamma = _parameters.AsSpan({l.WeightOffset}, {c});");
        _w.Line($"{RoSpan} beta = _parameters.AsSpan({l.BiasOffset}, {c});");
        _w.Open("for (int n = n0; n < n1; n++)");
        _w.Open($"for (int c = 0; c < {c}; c++)");
        _w.Line($"int at = n * {l.InSize} + c * {hw};");
        _w.Line($"{RoSpan} x = {x}.AsSpan(at, {hw});");
        _w.Line($"{Span} xhat = _xhat{m}.AsSpan(at, {hw});");
        _w.Line($"{Span} y = {y}.AsSpan(at, {hw});");
        _w.Line($"float mean = _mean{m}[c], invStd = _invStd{m}[c], g = gamma[c], b = beta[c];");
        _w.Line($"for (int i = 0; i < {hw}; i++) {{ float h = (x[i] - mean) * invStd; xhat[i] = h; y[i] = g * h + b; }}");
        _w.Close();
        _w.Close();
        _w.Close();
        _w.Line();
    }

    private void WriteBatchNormBackward(ShapedLayer l, string dx, string dy)
    {
        string m = _member[l.Index];
        int c = l.InC, hw = l.InH * l.InW;
        _w.Line($"/// <summary>{l.Name}: Σdy and Σdy·x̂ per channel over the batch; they are also the gradients of beta and gamma.</summary>");
        _w.Open($"private void {m}BackwardReduce()");
        _w.Line($"{Span} dGamma = _gradients.AsSpan({l.WeightOffset}, {c});");
        _w.Line($"{Span} dBeta = _gradients.AsSpan({l.BiasOffset}, {c});");
        _w.Open($"for (int c = 0; c < {c}; c++)");
        _w.Line("double sumDy = 0, sumDyXhat = 0;");
        _w.Open("for (int n = 0; n < _batch; n++)");
        _w.Line($"int at = n * {l.InSize} + c * {hw};");
        _w.Line($"{RoSpan} g = {dy}.AsSpan(at, {hw});");
        _w.Line($"{RoSpan} h = _xhat{m}.AsSpan(at, {hw});");
        _w.Line($"for (int i = 0; i < {hw}; i++) {{ sumDy += g[i]; sumDyXhat += (double)g[i] * h[i]; }}");
        _w.Close();
        _w.Line($"_sumDy{m}[c] = (float)sumDy;");
        _w.Line($"_sumDyXhat{m}[c] = (float)sumDyXhat;");
        _w.Line("dGamma[c] += (float)sumDyXhat;");
        _w.Line("dBeta[c] += (float)sumDy;");
        _w.Close();
        _w.Close();
        _w.Line();
        Header(l, "backward");
        _w.Line("// Training: through the batch statistics, dx = γ·invStd/M·(M·dy − Σdy − x̂·Σdy·x̂). Inference: dx = γ·invStd·dy.");
        _w.Open($"private void {m}Backward(int n0, int n1)");
        _w.Line($"{RoSpan} gamma = _parameters.AsSpan({l.WeightOffset}, {c});");
        _w.Line($"float count = _batch * {hw};");
        _w.Open("for (int n = n0; n < n1; n++)");
        _w.Open($"for (int c = 0; c < {c}; c++)");
        _w.Line($"int at = n * {l.InSize} + c * {hw};");
        _w.Line($"{RoSpan} g = {dy}.AsSpan(at, {hw});");
        _w.Line($"{RoSpan} h = _xhat{m}.AsSpan(at, {hw});");
        _w.Line($"{Span} d = {dx}.AsSpan(at, {hw});");
        _w.Line($"float scale = gamma[c] * _invStd{m}[c];");
        _w.Open("if (_training)");
        _w.Line($"float meanDy = _sumDy{m}[c] / count, meanDyXhat = _sumDyXhat{m}[c] / count;");
        _w.Line($"for (int i = 0; i < {hw}; i++) d[i] = scale * (g[i] - meanDy - h[i] * meanDyXhat);");
        _w.Close();
        _w.Line($"else for (int i = 0; i < {hw}; i++) d[i] = scale * g[i];");
        _w.Close();
        _w.Close();
        _w.Close();
        _w.Line();
    }
}
