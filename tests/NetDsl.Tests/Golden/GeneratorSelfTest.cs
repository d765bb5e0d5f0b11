using System.IO;
using System.Linq;
using System.Text.Json;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Golden;

public class GeneratorSelfTest
{
    [Fact]
    public void PortableGeneratorReproducesTheStoredVectors()
    {
        // gen_selftest stores both the generator's parameters and its output: ours must match bit for bit,
        // since the LeNet-5 case's parameters are stored only as generator parameters.
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(GoldenCase.Directory, "gen_selftest.json")));
        int checkedTensors = 0;
        foreach (var t in doc.RootElement.GetProperty("inputs").EnumerateObject())
        {
            int count = t.Value.GetProperty("shape").EnumerateArray().Aggregate(1, (a, e) => a * e.GetInt32());
            var ours = PortableGenerator.Generate(t.Value.GetProperty("gen"), count);
            var stored = t.Value.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(stored, ours);
            PortableGenerator.Verify(t.Value.GetProperty("check"), ours);
            checkedTensors++;
        }
        Assert.Equal(4, checkedTensors);
    }
}
