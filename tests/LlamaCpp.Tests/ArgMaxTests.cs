namespace LlamaCpp.Tests;

/// <summary>Greedy sampling's argmax, against the obvious loop: the first of equal maxima, at every length and position.</summary>
public sealed class ArgMaxTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(33)]
    [InlineData(201_088)]
    public void The_first_largest_value_wins(int length)
    {
        var random = new Random(length);
        for (int trial = 0; trial < 50; trial++)
        {
            float[] values = [.. Enumerable.Range(0, length).Select(_ => (float)Math.Round((random.NextDouble() * 20) - 10, 1))];

            Assert.Equal(Array.IndexOf(values, values.Max()), LlamaGenerator.ArgMax(values));
        }
    }

    [Fact]
    public void Ties_and_negative_values_pick_the_earliest()
    {
        Assert.Equal(3, LlamaGenerator.ArgMax([-5f, -4f, -3f, -1f, -2f, -1f, -1f, -9f, -1f, -7f]));
        Assert.Equal(9, LlamaGenerator.ArgMax([-5f, -4f, -3f, -3f, -2f, -3f, -3f, -9f, -2.5f, 6f]));
        Assert.Equal(0, LlamaGenerator.ArgMax([float.NegativeInfinity, float.NegativeInfinity]));
    }
}
